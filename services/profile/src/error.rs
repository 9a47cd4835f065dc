//! Errors of the profile service, mapped to HTTP by their kind.

use std::time::Duration;

use chatflow_errors::{ErrorKind, HasKind};

/// A failed profile-service operation.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A request field breaks a documented rule; nothing changed.
    #[error("{field}: {reason}")]
    InvalidField {
        /// The JSON field (or path or query parameter) at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request as a whole is not acceptable; nothing changed.
    #[error("{0}")]
    InvalidArgument(String),
    /// No such profile, or one the caller may not see: deliberately the same.
    #[error("{0}")]
    NotFound(String),
    /// The expected version no longer holds.
    #[error("{0}")]
    Conflict(String),
    /// The discovery budget is spent.
    #[error("too many discovery lookups; retry in {} s", .retry_after.as_secs().max(1))]
    Throttled {
        /// When the same request would be admitted.
        retry_after: Duration,
    },
    /// The relational store failed.
    #[error(transparent)]
    Sql(#[from] chatflow_sql::SqlError),
    /// Writing an event failed.
    #[error(transparent)]
    Outbox(#[from] chatflow_outbox::OutboxError),
    /// The rate limiter failed (its cache is down and the policy fails closed).
    #[error(transparent)]
    RateLimit(#[from] chatflow_rate_limit::RateLimitError),
    /// A bug, bad configuration or corrupt stored data.
    #[error("{0}")]
    Internal(String),
}

impl From<chatflow_sql::sqlx::Error> for ProfileError {
    fn from(err: chatflow_sql::sqlx::Error) -> Self {
        Self::Sql(err.into())
    }
}

impl HasKind for ProfileError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidField { .. } | Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Throttled { .. } => ErrorKind::ResourceExhausted,
            Self::Sql(e) => e.kind(),
            Self::Outbox(e) => e.kind(),
            Self::RateLimit(e) => match e.kind() {
                // A bad action, key or cost is our bug, not the caller's.
                ErrorKind::InvalidArgument => ErrorKind::Internal,
                other => other,
            },
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl ProfileError {
    /// Shorthand for an [`ProfileError::InvalidField`].
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same answer for "no such profile" and "hidden from you".
    pub fn no_profile() -> Self {
        Self::NotFound("no such profile".into())
    }
}
