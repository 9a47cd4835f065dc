//! The outbox relay: moves committed events from `router_outbox` to the bus.
//!
//! It is the shared leased, sharded relay of `chatflow_outbox::kv` (see
//! there for leases, passes, wake-ups and at-least-once delivery). Events
//! wait under one of `OUTBOX_SHARDS` shards (a hash of the conversation),
//! ordered per conversation by seq; a commit wakes its conversation's shard
//! through [`RelayWake`].

use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use chatflow_outbox::kv::{KvRelay, KvRelayNames};

pub use chatflow_outbox::kv::KvRelayWake as RelayWake;

use crate::metrics as m;
use crate::settings::RelayConfig;
use crate::store::{MessageStore, OutboxRecord};

/// The router's relay.
pub type Relay = KvRelay<OutboxRecord>;

/// Lease keys and metric names, as they were before the relay was shared.
const NAMES: KvRelayNames = KvRelayNames {
    lease_key_prefix: "message-router:relay:shard:",
    published: m::RELAY_PUBLISHED,
    failures: m::RELAY_FAILURES,
    lag_seconds: m::RELAY_LAG_SECONDS,
    shards_held: m::RELAY_SHARDS_HELD,
};

/// A relay of `store`'s outbox to `bus`, leasing its shards in `cache`.
pub fn relay(
    store: &MessageStore,
    bus: EventBusRef,
    cache: CacheRef,
    config: RelayConfig,
) -> Relay {
    KvRelay::new(store.outbox(), bus, cache, config, NAMES)
}
