//! The key-value-store outbox and its leased, sharded relay.
//!
//! Services on the key-value store (the message router, receipts) cannot
//! use the SQL outbox: their transactions are DynamoDB-style `transact`
//! calls. They put each event, in the same transaction as the change, into
//! an outbox table under one of a fixed number of shards (a hash of the
//! event key), sorted within the shard in the order it must be published.
//! [`KvOutbox`] reads a shard page by page and removes published items;
//! [`KvRelay`] publishes them.
//!
//! Each shard has its own relay task, and at most one instance relays a
//! shard at a time: the one holding its lease in the cache (`set_if_absent`
//! with a TTL, renewed by compare-and-set every third of it). A shard relay
//! publishes its events in key order, one at a time, and deletes them only
//! after the bus acknowledged them, so a crash re-publishes at worst (same
//! envelope id; consumers drop the copy), and a dead instance's shards are
//! taken over once its leases expire. A pass walks the whole shard with a
//! cursor before starting over, so a busy key cannot starve the others
//! sharing its shard. A commit wakes its shard's relay in the same instance
//! ([`KvRelayWake`]); an idle poll picks up events committed by other
//! instances.
//!
//! What differs between services is passed in: where the outbox lives
//! ([`KvOutboxLayout`]), how a stored event becomes a bus record
//! ([`KvRecord`]), and the lease keys and metric names ([`KvRelayNames`]),
//! which stay those each service had so dashboards keep working.

mod error;
mod lease;
mod record;
mod relay;
mod store;

use chatflow_events::OutgoingRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use error::KvOutboxError;
pub use record::OutboxRecord;
pub use relay::{KvRelay, KvRelayWake};
pub use store::{KvOutbox, KvOutboxEntry};

/// Where a service keeps its outbox on the key-value store. The service's
/// own key functions are passed in, so writer and relay cannot disagree.
#[derive(Debug, Clone, Copy)]
pub struct KvOutboxLayout {
    /// The outbox table (`router_outbox`, `receipts_outbox`).
    pub table: &'static str,
    /// Number of shards; fixed, as changing it would reorder pending events.
    pub shards: u32,
    /// The partition key of a shard.
    pub shard_pk: fn(u32) -> String,
    /// The shard of an event key (a conversation or user id).
    pub shard_of: fn(&str) -> u32,
}

/// One event as a service stores it in its outbox item (JSON).
pub trait KvRecord: DeserializeOwned + Send + Sync + 'static {
    /// Why a stored event cannot become a bus record.
    type Error: std::fmt::Display;

    /// The bus record to publish.
    fn to_outgoing(&self) -> Result<OutgoingRecord, Self::Error>;

    /// When the change committed (Unix ms), for the relay-lag gauge.
    fn created_ms(&self) -> i64;
}

/// How the relay paces itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvRelayConfig {
    /// How often to look for events written by other instances when not woken.
    pub idle_poll_ms: u64,
    /// Outbox items read per page.
    pub batch_size: usize,
    /// Lifetime of a shard lease; renewed well before it ends.
    pub lease_ttl_ms: u64,
    /// Longest wait between retries after a publish failure.
    pub max_backoff_ms: u64,
}

impl Default for KvRelayConfig {
    fn default() -> Self {
        Self {
            idle_poll_ms: 250,
            batch_size: 100,
            lease_ttl_ms: 10_000,
            max_backoff_ms: 5_000,
        }
    }
}

/// The names a service's relay uses in the cache and in metrics.
#[derive(Debug, Clone, Copy)]
pub struct KvRelayNames {
    /// Prefix of the shard lease keys; the shard number follows
    /// (`message-router:relay:shard:` gives `message-router:relay:shard:3`).
    pub lease_key_prefix: &'static str,
    /// Counter: events published, by `topic`.
    pub published: &'static str,
    /// Counter: relay passes that failed (publish or store).
    pub failures: &'static str,
    /// Gauge: age in seconds of the oldest event published in the last pass.
    pub lag_seconds: &'static str,
    /// Gauge: shards whose lease this instance holds.
    pub shards_held: &'static str,
}
