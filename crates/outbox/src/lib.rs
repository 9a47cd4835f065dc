//! The transactional outbox.
//!
//! A service that changes state and must tell others about it writes the
//! event into an `outbox` table *in the same transaction* as the change
//! ([`Outbox::enqueue`]). A relay ([`Outbox::run_relay`]) publishes pending
//! rows to the event bus in insertion order and deletes them only after the
//! bus acknowledged them. A crash anywhere loses nothing: the worst case is a
//! re-publish, which consumers drop by envelope id.
//!
//! One relay publishes at a time per service schema (a row lock on
//! PostgreSQL; SQLite is single-process), so per-key order on the bus follows
//! commit order.
//!
//! Services on the key-value store use the `kv` module (cargo feature `kv`) instead:
//! the same guarantees with an outbox table sharded by event key and a relay
//! per shard, leased in the cache.

mod envelope;
mod error;
#[cfg(feature = "kv")]
pub mod kv;
mod metrics;
mod relay;
mod table;

pub use envelope::{EventHeaders, envelope_for};
pub use error::OutboxError;
pub use relay::{Outbox, RelayOptions};
