//! Errors of the message router, mapped to HTTP and gRPC by their kind.

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_outbox::kv::KvOutboxError;

/// A failed router operation. Whatever the variant, nothing was stored
/// unless the error says the outcome is unknown (`Store` with a retriable
/// kind): the caller then retries with the same `client_msg_id`.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The request is malformed or breaks a limit; nothing was stored.
    #[error("{0}")]
    InvalidArgument(String),
    /// The caller may not do this in this conversation.
    #[error("{0}")]
    PermissionDenied(String),
    /// The message or conversation asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts stored state (a deleted target, a
    /// `client_msg_id` reused for a different request).
    #[error("{0}")]
    Conflict(String),
    /// The lane the write belongs to is full; retry later.
    #[error("router overloaded: the {lane} lane is full, retry later")]
    Overloaded {
        /// The full lane.
        lane: &'static str,
    },
    /// The write waited longer than the router allows before it could start
    /// (the store or the bus is falling behind); nothing was stored, retry later.
    #[error("router backlogged: the write waited {waited_ms} ms in the {lane} lane, retry later")]
    Backlogged {
        /// The lane it waited in.
        lane: &'static str,
        /// How long it waited.
        waited_ms: u64,
    },
    /// Other writers kept winning the race for the next seq; retry later.
    #[error("conversation {conversation_id} is busy ({attempts} attempts), retry later")]
    Contention {
        /// The conversation.
        conversation_id: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A dependency failed, timed out or its circuit breaker is open.
    #[error("{dependency} unavailable: {reason}")]
    DependencyUnavailable {
        /// Which dependency (`membership`).
        dependency: &'static str,
        /// What happened.
        reason: String,
    },
    /// The router is stopping; retry on another instance.
    #[error("message router is shutting down")]
    ShuttingDown,
    /// The message store failed.
    #[error(transparent)]
    Store(#[from] chatflow_kv::KvError),
    /// The event bus failed.
    #[error(transparent)]
    Bus(#[from] chatflow_events::BusError),
    /// The cache (relay leases) failed.
    #[error(transparent)]
    Cache(#[from] chatflow_cache::CacheError),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A remote router answered with this error (gRPC client side).
    #[error("{message}")]
    Remote {
        /// The kind the remote reported.
        kind: ErrorKind,
        /// Its message.
        message: String,
    },
}

impl RouterError {
    /// Shorthand for [`RouterError::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    /// Whether a caller should retry the same request (same `client_msg_id`) later.
    pub fn is_retriable(&self) -> bool {
        self.kind().is_retriable()
    }

    /// A short label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "invalid",
            Self::PermissionDenied(_) => "denied",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Overloaded { .. } => "overloaded",
            Self::Backlogged { .. } => "backlogged",
            Self::Contention { .. } => "contention",
            Self::DependencyUnavailable { .. } => "dependency_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::Store(_)
            | Self::Bus(_)
            | Self::Cache(_)
            | Self::Corrupt(_)
            | Self::Remote { .. } => "error",
        }
    }
}

impl HasKind for RouterError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            // Overload is the server's state, not the caller's fault: unavailable.
            Self::Overloaded { .. }
            | Self::Backlogged { .. }
            | Self::Contention { .. }
            | Self::DependencyUnavailable { .. }
            | Self::ShuttingDown => ErrorKind::Unavailable,
            // A lost condition never reaches callers as such: writes retry it.
            Self::Store(e) if e.kind() == ErrorKind::Conflict => ErrorKind::Unavailable,
            Self::Store(e) => e.kind(),
            Self::Bus(e) => e.kind(),
            Self::Cache(e) => e.kind(),
            Self::Corrupt(_) => ErrorKind::Internal,
            Self::Remote { kind, .. } => *kind,
        }
    }
}

/// The outbox relay's failures, in the variants the router had for them.
impl From<KvOutboxError> for RouterError {
    fn from(err: KvOutboxError) -> Self {
        err.into_service_error(Self::Corrupt)
    }
}

impl From<tonic::Status> for RouterError {
    fn from(status: tonic::Status) -> Self {
        let api = chatflow_runtime::ApiError::from_status(&status);
        Self::Remote {
            kind: api.kind,
            message: api.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable_errors_are_the_ones_a_client_may_repeat() {
        assert!(RouterError::Overloaded { lane: "bulk" }.is_retriable());
        assert!(
            RouterError::Contention {
                conversation_id: "c".into(),
                attempts: 3
            }
            .is_retriable()
        );
        assert!(RouterError::ShuttingDown.is_retriable());
        assert!(!RouterError::invalid("bad").is_retriable());
        assert!(!RouterError::PermissionDenied("no".into()).is_retriable());
        let lost = chatflow_kv::KvError::ConditionFailed {
            table: "t".into(),
            pk: "p".into(),
            sk: "s".into(),
        };
        assert_eq!(RouterError::from(lost).kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn outbox_errors_keep_their_kind() {
        let corrupt = RouterError::from(KvOutboxError::Corrupt {
            pk: "o#1".into(),
            sk: "c#1".into(),
            reason: "bad json".into(),
        });
        assert_eq!(corrupt.kind(), ErrorKind::Internal);
        assert_eq!(
            corrupt.to_string(),
            "corrupt stored data: item o#1/c#1: bad json"
        );
        let down = RouterError::from(KvOutboxError::Bus(chatflow_events::BusError::Unavailable(
            "down".into(),
        )));
        assert!(down.is_retriable());
    }

    #[test]
    fn remote_statuses_keep_their_kind() {
        let err = RouterError::from(tonic::Status::permission_denied("not a member"));
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(err.to_string(), "not a member");
    }
}
