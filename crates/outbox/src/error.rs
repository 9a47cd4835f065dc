//! Outbox errors.

use chatflow_errors::{ErrorKind, HasKind};

/// A failure writing to or relaying from the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The relational store failed.
    #[error(transparent)]
    Sql(#[from] chatflow_sql::SqlError),
    /// The event bus failed.
    #[error(transparent)]
    Bus(#[from] chatflow_events::BusError),
    /// A stored row could not be decoded (a bug or manual tampering).
    #[error("corrupt outbox row {id}: {reason}")]
    Corrupt {
        /// The row id.
        id: i64,
        /// What was wrong with it.
        reason: String,
    },
}

impl From<chatflow_sql::sqlx::Error> for OutboxError {
    fn from(err: chatflow_sql::sqlx::Error) -> Self {
        Self::Sql(err.into())
    }
}

impl HasKind for OutboxError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Sql(e) => e.kind(),
            Self::Bus(e) => e.kind(),
            Self::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}
