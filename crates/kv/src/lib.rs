//! The message and event store port: a key + sort-key store.
//!
//! Messages per conversation (ordered by `seq`), receipts and the analytics
//! event store live in tables of [`Item`]s keyed by `(pk, sk)`: a partition key
//! groups items, the sort key orders them. [`KvStore`] reads one item, pages
//! through a partition in either direction with opaque [`Cursor`]s, writes with
//! optimistic [`Condition`]s, counts with atomic [`KvStore::increment`] and
//! groups writes with all-or-nothing [`KvStore::transact`].
//!
//! The backend is chosen by URL in [`connect`]: `dynamodb://host:port` (an
//! endpoint such as DynamoDB Local), `dynamodb://` (AWS, region and
//! credentials from the default chain) or `sqlite://path.db` / `sqlite::memory:`
//! when embedded. Both enforce DynamoDB's limits before any call, so code that
//! works embedded works in production. Every failure is a [`KvError`] with a
//! shared `ErrorKind`.

mod cursor;
mod dynamo;
mod error;
mod limits;
mod model;
mod query;
mod sqlite;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use cursor::Cursor;
pub use error::KvError;
pub use limits::{MAX_COUNTER_NAME_BYTES, MAX_ITEM_BYTES, MAX_PK_BYTES, MAX_SK_BYTES};
pub use model::{Condition, Item, MAX_TX_OPS, TableSpec, TxOp};
pub use query::{Direction, MAX_PAGE_SIZE, Page, Query, SortRange};
pub use store::KvStore;

/// A shared handle on a store, whatever its backend.
pub type KvStoreRef = Arc<dyn KvStore>;

/// Connection settings with laptop-friendly defaults.
#[derive(Clone)]
pub struct KvOptions {
    /// Prepended to every table name (e.g. `prod_`, or a unique one per test).
    pub table_prefix: String,
    /// Upper bound of every call, retries included.
    pub op_timeout: Duration,
    /// Retries of a throttled or transiently failed request before giving up.
    pub max_retries: u32,
    /// AWS region; `None` reads the environment (`us-east-1` for a local endpoint).
    pub region: Option<String>,
    /// Access key id; with [`Self::secret_access_key`] it overrides the default chain.
    pub access_key_id: Option<String>,
    /// Secret access key paired with [`Self::access_key_id`].
    pub secret_access_key: Option<String>,
}

impl Default for KvOptions {
    fn default() -> Self {
        Self {
            table_prefix: String::new(),
            op_timeout: Duration::from_secs(5),
            max_retries: 8,
            region: None,
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

impl KvOptions {
    /// Default options with the given table prefix.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            table_prefix: prefix.into(),
            ..Self::default()
        }
    }
}

impl fmt::Debug for KvOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvOptions")
            .field("table_prefix", &self.table_prefix)
            .field("op_timeout", &self.op_timeout)
            .field("max_retries", &self.max_retries)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// Connects to the store the URL names; see the crate docs for the schemes.
pub async fn connect(url: &str, options: KvOptions) -> Result<KvStoreRef, KvError> {
    if url.starts_with("sqlite:") {
        let backend = sqlite::SqliteBackend::connect(url, &options).await?;
        Ok(Arc::new(store::Checked::new(backend, &options)))
    } else if let Some(rest) = url.strip_prefix("dynamodb://") {
        let backend = dynamo::DynamoBackend::connect(rest, &options).await?;
        Ok(Arc::new(store::Checked::new(backend, &options)))
    } else {
        Err(KvError::InvalidConfig(format!(
            "unsupported key-value store url {url:?}; expected dynamodb:// or sqlite:"
        )))
    }
}
