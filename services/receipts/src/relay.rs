//! The outbox relay: moves committed events from `receipts_outbox` to the bus.
//!
//! It is the message router's scheme, shared in `chatflow_outbox::kv` (see
//! there for leases, passes, wake-ups and at-least-once delivery). Events
//! wait under one of `OUTBOX_SHARDS` shards (a hash of the event key: the
//! conversation, or the user for settings), ordered per member (or user) by
//! the version of the item that changed; a commit wakes its key's shard
//! through [`RelayWake`].

use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use chatflow_outbox::kv::{KvRelay, KvRelayNames};

pub use chatflow_outbox::kv::KvRelayWake as RelayWake;

use crate::metrics as m;
use crate::settings::RelayConfig;
use crate::store::{OutboxRecord, ReceiptsStore};

/// The receipts relay.
pub type Relay = KvRelay<OutboxRecord>;

/// Lease keys and metric names, as they were before the relay was shared.
const NAMES: KvRelayNames = KvRelayNames {
    lease_key_prefix: "receipts:relay:shard:",
    published: m::RELAY_PUBLISHED,
    failures: m::RELAY_FAILURES,
    lag_seconds: m::RELAY_LAG_SECONDS,
    shards_held: m::RELAY_SHARDS_HELD,
};

/// A relay of `store`'s outbox to `bus`, leasing its shards in `cache`.
pub fn relay(
    store: &ReceiptsStore,
    bus: EventBusRef,
    cache: CacheRef,
    config: RelayConfig,
) -> Relay {
    KvRelay::new(store.outbox(), bus, cache, config, NAMES)
}
