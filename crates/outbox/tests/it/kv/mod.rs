//! The key-value-store outbox and relay on the embedded store, cache and
//! bus, with a record type and layout standing in for a service's.

mod relay;
mod store;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::{BusOptions, EventBusRef, OutgoingRecord};
use chatflow_kv::{Condition, Item, KvOptions, KvStoreRef, TableSpec};
use chatflow_outbox::kv::{
    KvOutbox, KvOutboxLayout, KvRecord, KvRelay, KvRelayConfig, KvRelayNames,
};
use serde::{Deserialize, Serialize};

use crate::faulty_bus::FaultyBus;

pub const TOPIC: &str = "chatflow.test.kv";

pub const LAYOUT: KvOutboxLayout = KvOutboxLayout {
    table: "it_outbox",
    shards: 4,
    shard_pk: |shard| format!("o#{shard}"),
    shard_of: |key| key.len() as u32 % 4,
};

pub const NAMES: KvRelayNames = KvRelayNames {
    lease_key_prefix: "it:relay:shard:",
    published: "it_relay_published_total",
    failures: "it_relay_failures_total",
    lag_seconds: "it_relay_lag_seconds",
    shards_held: "it_relay_shards_held",
};

/// An event of `key`, the `n`th of its key; a `broken` one cannot be published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub key: String,
    pub n: u32,
    pub broken: bool,
}

impl KvRecord for Event {
    type Error = String;

    fn to_outgoing(&self) -> Result<OutgoingRecord, String> {
        if self.broken {
            return Err("broken on purpose".to_owned());
        }
        Ok(OutgoingRecord::new(
            TOPIC,
            self.key.clone(),
            self.n.to_string(),
        ))
    }

    fn created_ms(&self) -> i64 {
        chatflow_runtime::clock::now_ms()
    }
}

pub struct World {
    pub kv: KvStoreRef,
    pub cache: CacheRef,
    pub bus: EventBusRef,
    pub down: Arc<AtomicBool>,
}

impl World {
    pub async fn new() -> Self {
        let kv = chatflow_kv::connect("sqlite::memory:", KvOptions::default())
            .await
            .unwrap();
        kv.ensure_tables(&[TableSpec::new(LAYOUT.table)])
            .await
            .unwrap();
        let cache = chatflow_cache::connect("memory://", CacheOptions::default())
            .await
            .unwrap();
        let bus = chatflow_events::connect("memory://", BusOptions::default())
            .await
            .unwrap();
        bus.ensure_topic(TOPIC, 4).await.unwrap();
        Self {
            kv,
            cache,
            bus,
            down: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn outbox(&self) -> KvOutbox<Event> {
        KvOutbox::new(self.kv.clone(), LAYOUT)
    }

    /// A relay polling rarely, so only wake-ups and its first pass publish,
    /// and reading small pages, so a pass walks a shard with its cursor.
    pub fn relay(&self, instance: &str) -> KvRelay<Event> {
        let bus: EventBusRef = Arc::new(FaultyBus {
            inner: self.bus.clone(),
            down: self.down.clone(),
        });
        let config = KvRelayConfig {
            idle_poll_ms: 60_000,
            batch_size: 7,
            max_backoff_ms: 100,
            ..KvRelayConfig::default()
        };
        KvRelay::new(self.outbox(), bus, self.cache.clone(), config, NAMES).with_instance(instance)
    }

    /// Commits the `n`th event of `key`, sorted after the earlier ones.
    pub async fn commit(&self, key: &str, n: u32) {
        self.commit_event(key, n, false).await;
    }

    pub async fn commit_event(&self, key: &str, n: u32, broken: bool) {
        let event = Event {
            key: key.to_owned(),
            n,
            broken,
        };
        let pk = (LAYOUT.shard_pk)((LAYOUT.shard_of)(key));
        let item = Item::new(
            pk,
            format!("{key}#{n:04}"),
            serde_json::to_vec(&event).unwrap(),
        );
        self.kv
            .put(LAYOUT.table, item, Condition::None)
            .await
            .unwrap();
    }

    pub async fn drained(&self) {
        let outbox = self.outbox();
        tokio::time::timeout(Duration::from_secs(10), async {
            while outbox.pending().await.unwrap() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the outbox drains");
    }

    /// The `(key, n)` of the first `count` events on the bus.
    pub async fn published(&self, count: usize) -> Vec<(String, u32)> {
        let group = format!("reader-{}", uuid::Uuid::new_v4().simple());
        let mut sub = self
            .bus
            .subscribe(&group, &[TOPIC.to_owned()])
            .await
            .unwrap();
        let mut out = Vec::new();
        while out.len() < count {
            let d = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .unwrap()
                .unwrap();
            let n = String::from_utf8(d.payload.to_vec())
                .unwrap()
                .parse()
                .unwrap();
            out.push((String::from_utf8(d.key).unwrap(), n));
        }
        out
    }
}
