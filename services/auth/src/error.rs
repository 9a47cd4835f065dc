//! Errors of the auth service, mapped to HTTP by their kind.

use std::time::Duration;

use chatflow_errors::{ErrorKind, HasKind};

/// A failed auth-service operation.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The request is malformed or breaks a documented rule; nothing changed.
    #[error("{0}")]
    InvalidArgument(String),
    /// Unknown account or wrong password: deliberately the same error.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The password was right but the email or phone is not verified yet.
    #[error("account not verified; enter the code sent to you or ask for a new one")]
    NotVerified,
    /// A verification or reset code that is wrong, expired, used or out of attempts.
    #[error("invalid or expired code")]
    InvalidCode,
    /// A wrong, replayed or expired MFA code or ticket.
    #[error("{0}")]
    MfaFailed(&'static str),
    /// A missing, expired, forged or revoked access or refresh token.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is authenticated but may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The thing asked for does not exist (for this user).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. MFA already on).
    #[error("{0}")]
    Conflict(String),
    /// A throttle refused the request.
    #[error("too many attempts; retry in {} s", .retry_after.as_secs().max(1))]
    Throttled {
        /// When the same request would be allowed.
        retry_after: Duration,
    },
    /// The relational store failed.
    #[error(transparent)]
    Sql(#[from] chatflow_sql::SqlError),
    /// Writing an event failed.
    #[error(transparent)]
    Outbox(#[from] chatflow_outbox::OutboxError),
    /// The cache (revocation list, throttles, MFA tickets) failed.
    #[error(transparent)]
    Cache(#[from] chatflow_cache::CacheError),
    /// A bug or corrupt stored data.
    #[error("{0}")]
    Internal(String),
}

impl From<chatflow_sql::sqlx::Error> for AuthError {
    fn from(err: chatflow_sql::sqlx::Error) -> Self {
        Self::Sql(err.into())
    }
}

impl HasKind for AuthError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument(_) | Self::InvalidCode => ErrorKind::InvalidArgument,
            Self::InvalidCredentials | Self::MfaFailed(_) | Self::Unauthenticated(_) => {
                ErrorKind::Unauthenticated
            }
            Self::NotVerified | Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Throttled { .. } => ErrorKind::ResourceExhausted,
            Self::Sql(e) => e.kind(),
            Self::Outbox(e) => e.kind(),
            Self::Cache(e) => match e.kind() {
                // A bad cache argument is our bug, not the caller's.
                ErrorKind::InvalidArgument => ErrorKind::Internal,
                other => other,
            },
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl AuthError {
    /// Shorthand for an `InvalidArgument` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }
}
