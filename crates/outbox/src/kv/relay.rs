//! The relay: moves committed events from the outbox shards to the bus.

use std::sync::Arc;
use std::time::Duration;

use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::lease::Lease;
use super::{KvOutbox, KvOutboxError, KvOutboxLayout, KvRecord, KvRelayConfig, KvRelayNames};

/// Wakes the relay of an event key's shard after a commit.
#[derive(Debug)]
pub struct KvRelayWake {
    shards: Vec<Notify>,
    shard_of: fn(&str) -> u32,
}

impl KvRelayWake {
    /// One wake-up per shard of `layout`.
    pub fn new(layout: &KvOutboxLayout) -> Self {
        Self {
            shards: (0..layout.shards).map(|_| Notify::new()).collect(),
            shard_of: layout.shard_of,
        }
    }

    /// An event keyed `key` (a conversation or user id) was committed.
    pub fn wake(&self, key: &str) {
        self.notify((self.shard_of)(key));
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
pub struct KvRelay<R> {
    outbox: KvOutbox<R>,
    bus: EventBusRef,
    cache: CacheRef,
    wake: Arc<KvRelayWake>,
    config: KvRelayConfig,
    names: KvRelayNames,
    instance: String,
}

impl<R: KvRecord> KvRelay<R> {
    /// A relay of `outbox` to `bus`, leasing shards in `cache` under a new
    /// instance id and reporting under `names`.
    pub fn new(
        outbox: KvOutbox<R>,
        bus: EventBusRef,
        cache: CacheRef,
        config: KvRelayConfig,
        names: KvRelayNames,
    ) -> Self {
        Self {
            wake: Arc::new(KvRelayWake::new(outbox.layout())),
            outbox,
            bus,
            cache,
            config,
            names,
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// The same relay leasing as `instance` (the lease value names the holder).
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = instance.into();
        self
    }

    /// Wakes this relay after a commit; writers of the same instance hold it.
    pub fn wake(&self) -> Arc<KvRelayWake> {
        self.wake.clone()
    }

    /// Relays every shard it can lease until `shutdown`; then each shard
    /// relay makes a last pass and gives its lease up.
    pub async fn run(self, shutdown: CancellationToken) {
        let ttl = Duration::from_millis(self.config.lease_ttl_ms.max(3));
        let relay = Arc::new(self);
        let tasks: Vec<_> = (0..relay.outbox.layout().shards)
            .map(|shard| {
                let lease = Lease::new(
                    relay.cache.clone(),
                    shard,
                    relay.instance.clone(),
                    ttl,
                    &relay.names,
                );
                let relay = ShardRelay {
                    shard,
                    relay: relay.clone(),
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
struct ShardRelay<R> {
    shard: u32,
    relay: Arc<KvRelay<R>>,
    lease: Lease,
}

impl<R: KvRecord> ShardRelay<R> {
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
                    metrics::counter!(self.relay.names.failures).increment(1);
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
    async fn pass(&mut self) -> Result<(), KvOutboxError> {
        let (shard, relay) = (self.shard, self.relay.clone());
        let mut cursor = None;
        loop {
            if !self.lease.hold().await? {
                return Ok(());
            }
            let (entries, next) = relay
                .outbox
                .page(shard, cursor, relay.config.batch_size)
                .await?;
            let mut published = Vec::with_capacity(entries.len());
            let mut oldest_ms = None;
            let mut failure = None;
            let mut sending = Vec::with_capacity(entries.len());
            let mut records = Vec::with_capacity(entries.len());
            for entry in entries {
                match entry.record.to_outgoing() {
                    Ok(record) => {
                        records.push(record);
                        sending.push(entry);
                    }
                    Err(err) => {
                        // Written by the service itself, so never expected; it
                        // would block the shard forever, so it is logged and dropped.
                        tracing::error!(shard, sk = %entry.sk, error = %err, "dropping an unreadable outbox event");
                        published.push(entry.sk);
                    }
                }
            }
            // One batch: the page shares the bus's commits instead of waiting
            // for one acknowledgement per event. Only the prefix up to the
            // first failure counts as published, so a retry resends in order.
            let topics: Vec<String> = records.iter().map(|r| r.topic.clone()).collect();
            let outcomes = relay.bus.publish_batch(records).await;
            for ((entry, topic), outcome) in sending.into_iter().zip(topics).zip(outcomes) {
                match outcome {
                    Ok(_) => {
                        metrics::counter!(relay.names.published, "topic" => topic).increment(1);
                        oldest_ms.get_or_insert(entry.record.created_ms());
                        published.push(entry.sk);
                    }
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                }
            }
            relay.outbox.remove(shard, &published).await?;
            if let Some(created_ms) = oldest_ms {
                let lag_ms = chatflow_runtime::clock::now_ms().saturating_sub(created_ms);
                metrics::gauge!(relay.names.lag_seconds).set(lag_ms as f64 / 1000.0);
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
