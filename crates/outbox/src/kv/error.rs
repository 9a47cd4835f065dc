//! Errors of the key-value-store outbox and relay.

use chatflow_errors::{ErrorKind, HasKind};

/// A failure reading, publishing or leasing the outbox. Services wrap the
/// same backends in their own errors and convert from this one.
#[derive(Debug, thiserror::Error)]
pub enum KvOutboxError {
    /// The key-value store failed.
    #[error(transparent)]
    Store(#[from] chatflow_kv::KvError),
    /// The event bus failed.
    #[error(transparent)]
    Bus(#[from] chatflow_events::BusError),
    /// The cache (shard leases) failed.
    #[error(transparent)]
    Cache(#[from] chatflow_cache::CacheError),
    /// An outbox item could not be decoded (a bug or manual tampering).
    #[error("corrupt outbox item {pk}/{sk}: {reason}")]
    Corrupt {
        /// The item's partition key.
        pk: String,
        /// The item's sort key.
        sk: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl KvOutboxError {
    /// This error as a service's own, which wraps the same backends; only a
    /// corrupt item needs `corrupt`, given `item <pk>/<sk>: <reason>`.
    pub fn into_service_error<E>(self, corrupt: impl FnOnce(String) -> E) -> E
    where
        E: From<chatflow_kv::KvError> + From<chatflow_events::BusError>,
        E: From<chatflow_cache::CacheError>,
    {
        match self {
            Self::Store(e) => e.into(),
            Self::Bus(e) => e.into(),
            Self::Cache(e) => e.into(),
            Self::Corrupt { pk, sk, reason } => corrupt(format!("item {pk}/{sk}: {reason}")),
        }
    }
}

impl HasKind for KvOutboxError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Store(e) => e.kind(),
            Self::Bus(e) => e.kind(),
            Self::Cache(e) => e.kind(),
            Self::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}
