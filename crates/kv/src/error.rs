//! Errors of the key-value port, classified into shared kinds.

use std::time::Duration;

use chatflow_errors::{ErrorKind, HasKind};

/// A failure of a key-value store call.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The URL or the options cannot be used.
    #[error("invalid key-value store configuration: {0}")]
    InvalidConfig(String),
    /// The request breaks a documented limit or rule; nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The item is larger than DynamoDB accepts (estimated before the call).
    #[error("item {pk:?}/{sk:?} is about {size} bytes, over the {limit} byte limit")]
    ItemTooLarge {
        /// Partition key of the rejected item.
        pk: String,
        /// Sort key of the rejected item.
        sk: String,
        /// Estimated size in DynamoDB's accounting.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A page cursor was not produced by this query (malformed or forged).
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// The table does not exist; call `ensure_tables` first.
    #[error("table {0:?} does not exist")]
    TableNotFound(String),
    /// The write's condition did not hold; nothing was written.
    #[error("condition failed on {table}: {pk:?}/{sk:?}")]
    ConditionFailed {
        /// Table name as the caller gave it (without prefix).
        table: String,
        /// Partition key of the item.
        pk: String,
        /// Sort key of the item.
        sk: String,
    },
    /// A transaction was cancelled; nothing it contained was written.
    #[error("transaction canceled: op {op} ({reason})")]
    TransactionCanceled {
        /// Index in the submitted ops of the first op that failed.
        op: usize,
        /// The backend's reason code, e.g. `ConditionalCheckFailed`.
        reason: String,
    },
    /// The backend kept throttling until the retries ran out.
    #[error("throttled by the key-value store: {0}")]
    Throttled(String),
    /// The backend cannot be reached or failed transiently.
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
    /// The call did not finish within the operation timeout.
    #[error("key-value store call timed out after {0:?}")]
    Timeout(Duration),
    /// The credentials were refused.
    #[error("key-value store refused the credentials: {0}")]
    AccessDenied(String),
    /// Anything else the backend reported, or stored data we cannot read.
    #[error("key-value store error: {0}")]
    Internal(String),
}

impl HasKind for KvError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidConfig(_)
            | Self::InvalidArgument(_)
            | Self::ItemTooLarge { .. }
            | Self::InvalidCursor(_) => ErrorKind::InvalidArgument,
            Self::TableNotFound(_) => ErrorKind::NotFound,
            Self::ConditionFailed { .. } | Self::TransactionCanceled { .. } => ErrorKind::Conflict,
            Self::Throttled(_) => ErrorKind::ResourceExhausted,
            Self::Unavailable(_) | Self::Timeout(_) => ErrorKind::Unavailable,
            Self::AccessDenied(_) => ErrorKind::PermissionDenied,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl KvError {
    /// Shorthand for an [`KvError::InvalidArgument`] with a formatted message.
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidArgument(msg.into())
    }
}

impl From<rusqlite::Error> for KvError {
    fn from(err: rusqlite::Error) -> Self {
        match &err {
            rusqlite::Error::SqliteFailure(failure, _)
                if is_sqlite_unavailable(failure.extended_code) =>
            {
                Self::Unavailable(err.to_string())
            }
            rusqlite::Error::InvalidPath(_) => Self::InvalidConfig(err.to_string()),
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_IOERR (10), SQLITE_FULL (13),
/// SQLITE_CANTOPEN (14) and their extended codes: conditions that pass.
fn is_sqlite_unavailable(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)
}
