//! Errors of the rate limiter, mapped to HTTP and gRPC by their kind.

use chatflow_cache::CacheError;
use chatflow_errors::{ErrorKind, HasKind};

/// A failed rate-limit check or an invalid policy.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RateLimitError {
    /// A policy in the config file or the `ratelimit.policies` flag breaks a rule.
    #[error("invalid rate-limit policy {0}")]
    InvalidPolicy(String),
    /// No policy (file or flag) names this action.
    #[error("no rate-limit policy for action {0:?}")]
    UnknownAction(String),
    /// The subject key is empty, too long or has control characters.
    #[error("invalid rate-limit key: {0}")]
    InvalidKey(String),
    /// The cost is 0, above the maximum or above the policy's burst.
    #[error("invalid cost: {0}")]
    InvalidCost(String),
    /// The limiter state could not be read or written (cache down, slow or
    /// answering nonsense) and the action's policy fails closed.
    #[error("rate limiter unavailable for {action} (fails closed): {source}")]
    Unavailable {
        /// The action that was refused.
        action: String,
        /// Why the cache failed.
        source: CacheError,
    },
}

impl HasKind for RateLimitError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidPolicy(_)
            | Self::UnknownAction(_)
            | Self::InvalidKey(_)
            | Self::InvalidCost(_) => ErrorKind::InvalidArgument,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
        }
    }
}
