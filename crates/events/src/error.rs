//! The crate's error type and its mapping onto the shared error kinds.

use chatflow_errors::{ErrorKind, HasKind};

/// Why a bus operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The backend could not be reached in time, or it is shutting down; retry later.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// The request is malformed: a bad topic name, URL or partition count.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The topic does not exist (the embedded backend never auto-creates topics).
    #[error("not found: {0}")]
    NotFound(String),
    /// A commit named a partition this consumer no longer owns after a rebalance.
    #[error("partition reassigned: {0}")]
    Rebalanced(String),
    /// A bug or corrupted state on our side or in the backend.
    #[error("internal event bus error: {0}")]
    Internal(String),
}

impl HasKind for BusError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Rebalanced(_) => ErrorKind::Conflict,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<sqlx::Error> for BusError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // A closed or exhausted pool means the bus is going away or overloaded.
            sqlx::Error::PoolClosed | sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                Self::Unavailable(err.to_string())
            }
            other => Self::Internal(format!("sqlite: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_the_shared_set() {
        assert_eq!(
            BusError::Unavailable("x".into()).kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(BusError::Rebalanced("x".into()).kind(), ErrorKind::Conflict);
        assert_eq!(
            BusError::InvalidArgument("x".into()).kind(),
            ErrorKind::InvalidArgument
        );
    }
}
