//! Errors of the config service, mapped to HTTP and gRPC by their kind.

use chatflow_errors::{ErrorKind, HasKind};

/// A failed config-service operation.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The flag definition or request is invalid; nothing was changed.
    #[error(transparent)]
    Flag(#[from] chatflow_flags::FlagError),
    /// No live flag has this key.
    #[error("flag {0} not found")]
    NotFound(String),
    /// Creating a flag whose key is taken.
    #[error("flag {0} already exists")]
    AlreadyExists(String),
    /// The expected version is not the current one.
    #[error("flag {key} is at version {current}, not {expected}")]
    VersionConflict {
        /// The flag key.
        key: String,
        /// The version the caller based its change on.
        expected: u64,
        /// The version stored now.
        current: u64,
    },
    /// The relational store failed.
    #[error(transparent)]
    Sql(#[from] chatflow_sql::SqlError),
    /// Writing the change event failed.
    #[error(transparent)]
    Outbox(#[from] chatflow_outbox::OutboxError),
    /// The event bus failed.
    #[error(transparent)]
    Bus(#[from] chatflow_events::BusError),
    /// Stored data could not be decoded.
    #[error("corrupt stored flag {key}: {reason}")]
    Corrupt {
        /// The flag key.
        key: String,
        /// What was wrong.
        reason: String,
    },
}

impl From<chatflow_sql::sqlx::Error> for ConfigError {
    fn from(err: chatflow_sql::sqlx::Error) -> Self {
        Self::Sql(err.into())
    }
}

impl HasKind for ConfigError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Flag(e) => e.kind(),
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::VersionConflict { .. } => ErrorKind::Conflict,
            Self::Sql(e) => e.kind(),
            Self::Outbox(e) => e.kind(),
            Self::Bus(e) => e.kind(),
            Self::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}
