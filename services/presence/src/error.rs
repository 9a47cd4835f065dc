//! The crate's error type, mapped to HTTP and gRPC by its kind.

use chatflow_errors::{ErrorKind, HasKind};

/// A failed presence operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PresenceError {
    /// A malformed id, too many users, or bad settings; nothing changed.
    #[error("{0}")]
    InvalidArgument(String),
    /// A dependency (the cache, the profile service) cannot answer now, or
    /// the node has stopped; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The cache port failed.
    #[error(transparent)]
    Cache(#[from] chatflow_cache::CacheError),
    /// A bug or a dependency answering nonsense.
    #[error("{0}")]
    Internal(String),
}

impl HasKind for PresenceError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Cache(e) => e.kind(),
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl PresenceError {
    /// Shorthand for an [`PresenceError::InvalidArgument`] naming `field`.
    pub fn field(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::InvalidArgument(format!("{field}: {reason}"))
    }
}

impl From<PresenceError> for tonic::Status {
    fn from(err: PresenceError) -> Self {
        chatflow_runtime::grpc::to_status(&err)
    }
}

/// A gRPC answer from a dependency, as this crate's error: bad input stays
/// `InvalidArgument`, a refused identity is our misconfiguration
/// (`Internal`), anything else is `Unavailable`.
impl From<tonic::Status> for PresenceError {
    fn from(status: tonic::Status) -> Self {
        match ErrorKind::from_grpc_code(status.code()) {
            ErrorKind::InvalidArgument => Self::InvalidArgument(status.message().to_owned()),
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied | ErrorKind::Internal => {
                Self::Internal(format!("profile service: {}", status.message()))
            }
            _ => Self::Unavailable(format!("profile service: {}", status.message())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_cross_both_edges() {
        let status = tonic::Status::from(PresenceError::field("user_ids", "too many"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let back = PresenceError::from(tonic::Status::unavailable("down"));
        assert_eq!(back.kind(), ErrorKind::Unavailable);
        let refused = PresenceError::from(tonic::Status::unauthenticated("no identity"));
        assert_eq!(refused.kind(), ErrorKind::Internal);
    }
}
