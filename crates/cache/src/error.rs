//! The crate's error type and its mapping onto the shared error kinds.

use chatflow_errors::{ErrorKind, HasKind};

/// Why a cache operation failed.
///
/// Cloneable so one failure can be handed to every subscriber of a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// A bad key, value, TTL, score, script argument or URL; nothing was changed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server could not be reached or did not answer within `op_timeout`;
    /// retry later. The operation may or may not have been applied.
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    /// The key holds a value of another kind (a sorted set where bytes are
    /// expected, bytes that are not an integer for `incr`, ...).
    #[error("wrong type: {0}")]
    WrongType(String),
    /// A subscriber fell too far behind and this many messages were dropped
    /// for it; the subscription goes on with newer messages.
    #[error("subscriber lagged: {0} messages dropped")]
    Lagged(u64),
    /// A bug or an unexpected reply on our side or in the backend.
    #[error("internal cache error: {0}")]
    Internal(String),
}

impl HasKind for CacheError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::WrongType(_) => ErrorKind::Conflict,
            Self::Lagged(_) => ErrorKind::ResourceExhausted,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<redis::RedisError> for CacheError {
    fn from(err: redis::RedisError) -> Self {
        use redis::ErrorKind as K;
        let detail = err.detail().unwrap_or_default();
        match err.kind() {
            K::IoError
            | K::BusyLoadingError
            | K::TryAgain
            | K::MasterDown
            | K::ClusterDown
            | K::ReadOnly
            | K::AuthenticationFailed => Self::Unavailable(err.to_string()),
            K::InvalidClientConfig => Self::InvalidArgument(err.to_string()),
            _ if err.code() == Some("WRONGTYPE") || detail.contains("not an integer") => {
                Self::WrongType(err.to_string())
            }
            // Scripts report bad arguments with `redis.error_reply('EINVAL ...')`.
            _ if err.code() == Some("EINVAL") || detail.contains("overflow") => {
                Self::InvalidArgument(detail.to_owned())
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_the_shared_set() {
        let cases = [
            (
                CacheError::InvalidArgument("x".into()),
                ErrorKind::InvalidArgument,
            ),
            (CacheError::Unavailable("x".into()), ErrorKind::Unavailable),
            (CacheError::WrongType("x".into()), ErrorKind::Conflict),
            (CacheError::Lagged(3), ErrorKind::ResourceExhausted),
            (CacheError::Internal("x".into()), ErrorKind::Internal),
        ];
        for (err, kind) in cases {
            assert_eq!(err.kind(), kind, "{err}");
        }
    }

    #[test]
    fn redis_errors_are_classified() {
        let io: redis::RedisError =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused").into();
        assert_eq!(CacheError::from(io).kind(), ErrorKind::Unavailable);
        let wrong: redis::RedisError = (
            redis::ErrorKind::ResponseError,
            "response",
            "value is not an integer or out of range".to_owned(),
        )
            .into();
        assert!(matches!(CacheError::from(wrong), CacheError::WrongType(_)));
    }
}
