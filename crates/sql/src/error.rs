//! Errors of the relational port, classified into shared kinds.

use chatflow_errors::{ErrorKind, HasKind};

/// A failure talking to the relational store.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The URL or a schema name is not acceptable.
    #[error("invalid relational store configuration: {0}")]
    InvalidConfig(String),
    /// The server cannot be reached or the pool timed out.
    #[error("relational store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness constraint rejected the write.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Running migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else the driver reported.
    #[error("relational store error: {0}")]
    Internal(String),
}

impl HasKind for SqlError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidConfig(_) => ErrorKind::InvalidArgument,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::Migration(_) | Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<sqlx::Error> for SqlError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &err {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                Self::Unavailable(err.to_string())
            }
            E::Database(db) if db.is_unique_violation() => Self::AlreadyExists(db.to_string()),
            // SQLite reports a locked or unopenable database file this way.
            E::Database(db) if is_sqlite_unavailable(db.code().as_deref()) => {
                Self::Unavailable(db.to_string())
            }
            E::Configuration(_) => Self::InvalidConfig(err.to_string()),
            _ => Self::Internal(err.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for SqlError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(inner) => match Self::from(inner) {
                Self::Unavailable(msg) => Self::Unavailable(msg),
                other => Self::Migration(other.to_string()),
            },
            other => Self::Migration(other.to_string()),
        }
    }
}

/// SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_CANTOPEN (14) and their extended codes.
fn is_sqlite_unavailable(code: Option<&str>) -> bool {
    let Some(code) = code.and_then(|c| c.parse::<i32>().ok()) else {
        return false;
    };
    matches!(code & 0xff, 5 | 6 | 14)
}
