//! Errors of the receipts service, mapped to HTTP and gRPC by their kind.
//!
//! In process and over gRPC callers see the same variants for what they can
//! act on: [`ReceiptsError::InvalidArgument`], [`ReceiptsError::PermissionDenied`]
//! (forbidden), [`ReceiptsError::NotFound`], [`ReceiptsError::BeyondHead`],
//! [`ReceiptsError::Unavailable`] (retry later) and [`ReceiptsError::Internal`].
//! Backend failures keep their own variants in process and arrive as
//! `Unavailable` or `Internal` over the network.

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_outbox::kv::KvOutboxError;

/// A failed receipts operation; whatever the variant, nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptsError {
    /// The request is malformed or breaks a limit.
    #[error("{0}")]
    InvalidArgument(String),
    /// The caller is not a member of the conversation.
    #[error("{0}")]
    PermissionDenied(String),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A read mark past the last message the service knows of (REST callers only).
    #[error("seq {seq} is beyond the last message of the conversation ({head})")]
    BeyondHead {
        /// The seq asked for.
        seq: u64,
        /// The highest seq seen in the conversation.
        head: u64,
    },
    /// A dependency failed or timed out, or writers kept racing; retry later.
    #[error("{dependency} unavailable: {reason}")]
    Unavailable {
        /// Which dependency (`groups`, `store`, `receipts` for a remote service).
        dependency: &'static str,
        /// What happened.
        reason: String,
    },
    /// The key-value store failed.
    #[error(transparent)]
    Store(#[from] chatflow_kv::KvError),
    /// The event bus failed.
    #[error(transparent)]
    Bus(#[from] chatflow_events::BusError),
    /// The cache (relay leases) failed.
    #[error(transparent)]
    Cache(#[from] chatflow_cache::CacheError),
    /// A bug, stored data that cannot be decoded, or a remote internal error.
    #[error("{0}")]
    Internal(String),
}

impl ReceiptsError {
    /// Shorthand for [`ReceiptsError::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    /// A finer, stable cause for REST clients to branch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "invalid_argument",
            Self::PermissionDenied(_) => "not_member",
            Self::NotFound(_) => "not_found",
            Self::BeyondHead { .. } => "beyond_head",
            Self::Unavailable { .. } => "unavailable",
            Self::Store(_) | Self::Bus(_) | Self::Cache(_) => match self.kind() {
                ErrorKind::Internal => "internal",
                _ => "unavailable",
            },
            Self::Internal(_) => "internal",
        }
    }
}

impl HasKind for ReceiptsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::BeyondHead { .. } => ErrorKind::Conflict,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            // A lost condition never reaches callers as such: writes retry it.
            Self::Store(e) if e.kind() == ErrorKind::Conflict => ErrorKind::Unavailable,
            Self::Store(e) => e.kind(),
            Self::Bus(e) => e.kind(),
            Self::Cache(e) => e.kind(),
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

/// The outbox relay's failures, in the variants receipts had for them.
impl From<KvOutboxError> for ReceiptsError {
    fn from(err: KvOutboxError) -> Self {
        err.into_service_error(|item| Self::Internal(format!("corrupt {item}")))
    }
}

/// A remote receipts service's answer, back in the typed variants.
impl From<tonic::Status> for ReceiptsError {
    fn from(status: tonic::Status) -> Self {
        let api = chatflow_runtime::ApiError::from_status(&status);
        match api.kind {
            ErrorKind::InvalidArgument => Self::InvalidArgument(api.message),
            ErrorKind::PermissionDenied | ErrorKind::Unauthenticated => {
                Self::PermissionDenied(api.message)
            }
            ErrorKind::NotFound => Self::NotFound(api.message),
            kind if kind.is_retriable() => Self::Unavailable {
                dependency: "receipts",
                reason: api.message,
            },
            _ => Self::Internal(api.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_reasons() {
        let beyond = ReceiptsError::BeyondHead { seq: 9, head: 4 };
        assert_eq!(beyond.kind(), ErrorKind::Conflict);
        assert_eq!(beyond.reason(), "beyond_head");
        let lost = chatflow_kv::KvError::ConditionFailed {
            table: "t".into(),
            pk: "p".into(),
            sk: "s".into(),
        };
        assert_eq!(ReceiptsError::from(lost).kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn outbox_errors_keep_their_kind() {
        let corrupt = ReceiptsError::from(KvOutboxError::Corrupt {
            pk: "o#1".into(),
            sk: "s#u#1".into(),
            reason: "bad json".into(),
        });
        assert_eq!(corrupt.reason(), "internal");
        assert_eq!(corrupt.to_string(), "corrupt item o#1/s#u#1: bad json");
        let down = ReceiptsError::from(KvOutboxError::Bus(chatflow_events::BusError::Unavailable(
            "down".into(),
        )));
        assert_eq!(down.reason(), "unavailable");
    }

    #[test]
    fn remote_statuses_come_back_typed() {
        let denied = ReceiptsError::from(tonic::Status::permission_denied("not a member"));
        assert!(matches!(denied, ReceiptsError::PermissionDenied(ref m) if m == "not a member"));
        let busy = ReceiptsError::from(tonic::Status::unavailable("later"));
        assert_eq!(busy.kind(), ErrorKind::Unavailable);
        let bad = ReceiptsError::from(tonic::Status::invalid_argument("bad id"));
        assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
        let bug = ReceiptsError::from(tonic::Status::internal("secret detail"));
        assert_eq!(
            bug.to_string(),
            chatflow_runtime::http_error::INTERNAL_MESSAGE
        );
    }
}
