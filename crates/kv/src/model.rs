//! The portable data model: tables, items, write conditions and transaction ops.

use std::collections::BTreeMap;

use bytes::Bytes;

/// A table to create: key `(pk, sk)`, optionally one secondary index and TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Table name without the store's prefix: `[A-Za-z0-9_.-]`, prefix included 3–255 bytes.
    pub name: String,
    /// Whether the table has the secondary index `gsi1` on `(gsi1pk, gsi1sk)`.
    pub secondary_index: bool,
    /// Whether expired items (see [`Item::expires_at`]) are deleted by the backend.
    pub ttl: bool,
}

impl TableSpec {
    /// A table with neither secondary index nor TTL.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            secondary_index: false,
            ttl: false,
        }
    }

    /// Adds the secondary index `gsi1`.
    pub fn with_secondary_index(mut self) -> Self {
        self.secondary_index = true;
        self
    }

    /// Enables TTL on `expires_at`.
    pub fn with_ttl(mut self) -> Self {
        self.ttl = true;
        self
    }
}

/// One stored item: a key, an opaque payload and a few store-understood fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// Partition key (1–2048 bytes): items sharing it are queried together.
    pub pk: String,
    /// Sort key (1–1024 bytes): orders items in a partition by UTF-8 bytes.
    pub sk: String,
    /// Optimistic-concurrency version. Conditional writes and `increment` set it
    /// (see [`Condition`]); blind writes store the value given here.
    pub version: u64,
    /// The caller's payload, stored as bytes.
    pub data: Bytes,
    /// Unix seconds after which the item is invisible to every read.
    pub expires_at: Option<i64>,
    /// Secondary-index key `(gsi1pk, gsi1sk)`; both non-empty when set.
    pub gsi1: Option<(String, String)>,
    /// Named counters changed atomically by `increment`.
    pub counters: BTreeMap<String, i64>,
}

impl Item {
    /// An item with the given key and payload and nothing else.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            data: data.into(),
            ..Self::default()
        }
    }

    /// Sets the secondary-index key.
    pub fn with_gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1 = Some((pk.into(), sk.into()));
        self
    }

    /// Sets the expiry time in unix seconds.
    pub fn with_expires_at(mut self, unix_seconds: i64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    /// Whether the item is expired at `now` (unix seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A precondition on the stored item, checked atomically with the write.
///
/// Expired items count as absent. A write with `IfAbsent` stores version 1 and one
/// with `IfVersion(v)` stores `v + 1`, whatever `item.version` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    /// No check: the write is blind and stores `item.version` as given.
    #[default]
    None,
    /// The item must not exist (or be expired).
    IfAbsent,
    /// The item must exist with exactly this version.
    IfVersion(u64),
}

/// One operation of an all-or-nothing [`transact`](crate::KvStore::transact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOp {
    /// Writes an item, like `put`.
    Put {
        /// Table name without prefix.
        table: String,
        /// The item to write.
        item: Item,
        /// Its precondition.
        condition: Condition,
    },
    /// Deletes an item, like `delete`.
    Delete {
        /// Table name without prefix.
        table: String,
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// Its precondition (not `IfAbsent`).
        condition: Condition,
    },
    /// Writes nothing but cancels the transaction unless the condition holds.
    ConditionCheck {
        /// Table name without prefix.
        table: String,
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// The condition to check (not `None`).
        condition: Condition,
    },
}

impl TxOp {
    /// The table and key this op touches.
    pub fn target(&self) -> (&str, &str, &str) {
        match self {
            Self::Put { table, item, .. } => (table, &item.pk, &item.sk),
            Self::Delete { table, pk, sk, .. } | Self::ConditionCheck { table, pk, sk, .. } => {
                (table, pk, sk)
            }
        }
    }
}

/// Maximum ops in one transaction (DynamoDB's limit).
pub const MAX_TX_OPS: usize = 100;

/// The current time in unix seconds, the clock TTL is judged by.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
