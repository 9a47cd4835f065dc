//! The outbox relay: moves committed events from the outbox table to the bus.
//!
//! The message router's scheme, on the receipts tables. Events wait in
//! `receipts_outbox` under one of [`OUTBOX_SHARDS`] shards (a hash of the
//! event key: the conversation, or the user for settings), ordered per
//! member (or user) by the version of the item that changed. Each shard has
//! its own relay task, and at most one instance relays a shard at a time:
//! the one holding its lease in the cache (`set_if_absent` with a TTL,
//! renewed by compare-and-set every third of it). A shard relay publishes
//! its events in key order, one at a time, and deletes them only after the
//! bus acknowledged them, so a crash re-publishes at worst (same envelope
//! id; consumers drop the copy), and a dead instance's shards are taken over
//! once its leases expire. A pass walks the whole shard with a cursor before
//! starting over, so a busy conversation cannot starve the others sharing
//! its shard. A commit wakes its shard's relay in the same instance; an idle
//! poll picks up events committed by other instances.

use std::sync::Arc;
use std::time::Duration;

use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::settings::RelayConfig;
use crate::store::ReceiptsStore;
use crate::store::keys::{OUTBOX_SHARDS, shard_of};
use crate::{ReceiptsError, metrics as m};

/// Wakes the relay of an event key's shard after a commit.
#[derive(Debug)]
pub struct RelayWake {
    shards: Vec<Notify>,
}

impl Default for RelayWake {
    fn default() -> Self {
        Self {
            shards: (0..OUTBOX_SHARDS).map(|_| Notify::new()).collect(),
        }
    }
}

impl RelayWake {
    /// An event keyed `key` (a conversation or user id) was committed.
    pub fn wake(&self, key: &str) {
        self.notify(shard_of(key));
    }

    fn notify(&self, shard: u32) {
        if let Some(notify) = self.shards.get(shard as usize) {
            notify.notify_one();
        }
    }

    async fn notified(&self, shard: u32) {
        match self.shards.get(shard as usize) {
            Some(notify) => notify.notified().await,
            None => std::future::pending().await,
        }
    }
}

/// What every shard relay of one instance shares.
#[derive(Clone)]
pub struct Relay {
    store: ReceiptsStore,
    bus: EventBusRef,
    cache: CacheRef,
    wake: Arc<RelayWake>,
    config: RelayConfig,
    instance: String,
}

impl Relay {
    /// A relay for `store`, leasing shards in `cache` as `instance`.
    pub fn new(
        store: ReceiptsStore,
        bus: EventBusRef,
        cache: CacheRef,
        wake: Arc<RelayWake>,
        config: RelayConfig,
        instance: String,
    ) -> Self {
        Self {
            store,
            bus,
            cache,
            wake,
            config,
            instance,
        }
    }

    /// Relays every shard it can lease until `shutdown`; then each shard
    /// relay makes a last pass and gives its lease up.
    pub async fn run(self, shutdown: CancellationToken) {
        let tasks: Vec<_> = (0..OUTBOX_SHARDS)
            .map(|shard| {
                let lease = Lease::new(
                    self.cache.clone(),
                    shard,
                    self.instance.clone(),
                    Duration::from_millis(self.config.lease_ttl_ms.max(3)),
                );
                let relay = ShardRelay {
                    shard,
                    relay: self.clone(),
                    lease,
                };
                tokio::spawn(relay.run(shutdown.clone()))
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// The relay of one shard.
struct ShardRelay {
    shard: u32,
    relay: Relay,
    lease: Lease,
}

impl ShardRelay {
    async fn run(mut self, shutdown: CancellationToken) {
        let config = &self.relay.config;
        let idle = Duration::from_millis(config.idle_poll_ms.max(1));
        let max_backoff = Duration::from_millis(config.max_backoff_ms.max(1));
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.pass().await {
                Ok(()) => {
                    backoff = Duration::from_millis(50);
                    tokio::select! {
                        _ = self.relay.wake.notified(self.shard) => {}
                        _ = tokio::time::sleep(idle) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(err) => {
                    metrics::counter!(m::RELAY_FAILURES).increment(1);
                    tracing::warn!(shard = self.shard, error = %err, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(max_backoff);
                }
            }
        }
        if let Err(err) = self.pass().await {
            tracing::warn!(shard = self.shard, error = %err, "outbox shard not drained at shutdown; the next lease holder publishes it");
        }
        self.lease.release().await;
    }

    /// Publishes the shard's events in order and removes them, page by page,
    /// while this instance holds the lease.
    async fn pass(&mut self) -> Result<(), ReceiptsError> {
        let (shard, store) = (self.shard, self.relay.store.clone());
        let mut cursor = None;
        loop {
            if !self.lease.hold().await? {
                return Ok(());
            }
            let (entries, next) = store
                .outbox_page(shard, cursor, self.relay.config.batch_size)
                .await?;
            let mut published = Vec::with_capacity(entries.len());
            let mut oldest_ms = None;
            let mut failure = None;
            for entry in entries {
                let record = match entry.record.to_record() {
                    Ok(record) => record,
                    Err(err) => {
                        // Written by this service, so never expected; it would
                        // block the shard forever, so it is logged and dropped.
                        tracing::error!(shard, sk = %entry.sk, error = %err, "dropping an unreadable outbox event");
                        published.push(entry.sk);
                        continue;
                    }
                };
                match self.relay.bus.publish(record).await {
                    Ok(_) => {
                        metrics::counter!(m::RELAY_PUBLISHED, "topic" => entry.record.topic.clone())
                            .increment(1);
                        oldest_ms.get_or_insert(entry.record.created_ms);
                        published.push(entry.sk);
                    }
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                }
            }
            store.outbox_remove(shard, &published).await?;
            if let Some(created_ms) = oldest_ms {
                let lag_ms = chatflow_runtime::clock::now_ms().saturating_sub(created_ms);
                metrics::gauge!(m::RELAY_LAG_SECONDS).set(lag_ms as f64 / 1000.0);
            }
            if let Some(err) = failure {
                return Err(err.into());
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// One shard's lease, renewed lazily.
struct Lease {
    cache: CacheRef,
    shard: u32,
    key: String,
    instance: String,
    ttl: Duration,
    /// When the lease was last taken or renewed, while held.
    renewed: Option<Instant>,
}

impl Lease {
    fn new(cache: CacheRef, shard: u32, instance: String, ttl: Duration) -> Self {
        Self {
            cache,
            shard,
            key: format!("receipts:relay:shard:{shard}"),
            instance,
            ttl,
            renewed: None,
        }
    }

    /// Whether this instance holds the lease, taking or renewing it as needed.
    async fn hold(&mut self) -> Result<bool, ReceiptsError> {
        if let Some(at) = self.renewed
            && at.elapsed() < self.ttl / 3
        {
            return Ok(true);
        }
        let (key, me, ttl) = (&self.key, self.instance.as_bytes(), Some(self.ttl));
        let held = self.cache.compare_and_set(key, Some(me), me, ttl).await?
            || self.cache.set_if_absent(key, me, ttl).await?;
        match (held, self.renewed.is_some()) {
            (true, false) => {
                tracing::info!(shard = self.shard, instance = %self.instance, "relaying outbox shard");
                metrics::gauge!(m::RELAY_SHARDS_HELD).increment(1.0);
            }
            (false, true) => {
                tracing::warn!(
                    shard = self.shard,
                    "outbox shard lease lost to another instance"
                );
                metrics::gauge!(m::RELAY_SHARDS_HELD).decrement(1.0);
            }
            _ => {}
        }
        self.renewed = held.then(Instant::now);
        Ok(held)
    }

    /// Lets the lease lapse at once, so another instance takes over.
    async fn release(&mut self) {
        if self.renewed.take().is_none() {
            return;
        }
        metrics::gauge!(m::RELAY_SHARDS_HELD).decrement(1.0);
        let me = self.instance.as_bytes();
        let lapse = Some(Duration::from_millis(1));
        if let Err(err) = self
            .cache
            .compare_and_set(&self.key, Some(me), b"released", lapse)
            .await
        {
            tracing::debug!(shard = self.shard, error = %err, "lease not released; it expires by itself");
        }
    }
}
