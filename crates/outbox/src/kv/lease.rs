//! One shard's lease in the cache: who relays the shard right now.

use std::time::Duration;

use chatflow_cache::CacheRef;
use tokio::time::Instant;

use super::{KvOutboxError, KvRelayNames};

/// One shard's lease, renewed lazily.
pub(super) struct Lease {
    cache: CacheRef,
    shard: u32,
    key: String,
    instance: String,
    ttl: Duration,
    /// Gauge of the shards held, moved as the lease is taken and lost.
    held_metric: &'static str,
    /// When the lease was last taken or renewed, while held.
    renewed: Option<Instant>,
}

impl Lease {
    pub(super) fn new(
        cache: CacheRef,
        shard: u32,
        instance: String,
        ttl: Duration,
        names: &KvRelayNames,
    ) -> Self {
        Self {
            cache,
            shard,
            key: format!("{}{shard}", names.lease_key_prefix),
            instance,
            ttl,
            held_metric: names.shards_held,
            renewed: None,
        }
    }

    /// Whether this instance holds the lease, taking or renewing it as needed.
    pub(super) async fn hold(&mut self) -> Result<bool, KvOutboxError> {
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
                metrics::gauge!(self.held_metric).increment(1.0);
            }
            (false, true) => {
                tracing::warn!(
                    shard = self.shard,
                    "outbox shard lease lost to another instance"
                );
                metrics::gauge!(self.held_metric).decrement(1.0);
            }
            _ => {}
        }
        self.renewed = held.then(Instant::now);
        Ok(held)
    }

    /// Lets the lease lapse at once, so another instance takes over.
    pub(super) async fn release(&mut self) {
        if self.renewed.take().is_none() {
            return;
        }
        metrics::gauge!(self.held_metric).decrement(1.0);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chatflow_cache::CacheOptions;

    use super::*;

    const NAMES: KvRelayNames = KvRelayNames {
        lease_key_prefix: "test:relay:shard:",
        published: "test_relay_published_total",
        failures: "test_relay_failures_total",
        lag_seconds: "test_relay_lag_seconds",
        shards_held: "test_relay_shards_held",
    };

    async fn leases(ttl_ms: u64) -> (CacheRef, Lease, Lease) {
        let cache = chatflow_cache::connect("memory://", CacheOptions::default())
            .await
            .unwrap();
        let ttl = Duration::from_millis(ttl_ms);
        let lease = |instance: &str| Lease::new(cache.clone(), 3, instance.to_owned(), ttl, &NAMES);
        let (a, b) = (lease("a"), lease("b"));
        (cache, a, b)
    }

    #[tokio::test]
    async fn one_instance_holds_a_shard_until_it_releases_it() {
        let (cache, mut a, mut b) = leases(10_000).await;
        assert!(a.hold().await.unwrap());
        assert!(!b.hold().await.unwrap());
        let stored = cache.get("test:relay:shard:3").await.unwrap().unwrap();
        assert_eq!(&stored[..], b"a");
        assert!(a.hold().await.unwrap(), "a holder keeps its lease");

        a.release().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(b.hold().await.unwrap());
        assert!(!a.hold().await.unwrap());
    }

    #[tokio::test]
    async fn an_unrenewed_lease_is_taken_over_once_it_expires() {
        let (_cache, mut a, mut b) = leases(300).await;
        assert!(a.hold().await.unwrap());
        assert!(!b.hold().await.unwrap());
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(b.hold().await.unwrap());
        assert!(!a.hold().await.unwrap(), "the lease was lost to b");
    }
}
