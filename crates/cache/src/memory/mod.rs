//! The in-process backend: one locked [`store::Store`] plus a local
//! [`Fanout`] for pub/sub. Lost on exit; shared only through the handle.

pub(crate) mod store;
mod zset;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;

use self::store::{Store, Value, deadline, unix_ms};
use crate::fanout::{Fanout, Subscription};
use crate::keys::{Keyspace, check_value, opt_ttl_ms, score, ttl_ms};
use crate::{AtomicScript, Cache, CacheError, KeyTtl, MessageStream};

/// An in-process cache; every operation runs under one lock, so each is atomic.
pub(crate) struct MemoryCache {
    keys: Keyspace,
    store: Mutex<Store>,
    bus: Arc<Fanout>,
}

impl MemoryCache {
    /// An empty cache working under `keys`.
    pub(crate) fn new(keys: Keyspace) -> Self {
        Self {
            keys,
            store: Mutex::new(Store::default()),
            bus: Arc::default(),
        }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        let key = self.keys.key(key)?;
        self.store.lock().bytes(&key, Instant::now())
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        let (key, ttl) = (self.keys.key(key)?, opt_ttl_ms(ttl)?);
        check_value("value", value)?;
        let value = Bytes::copy_from_slice(value);
        self.store
            .lock()
            .put_bytes(&key, value, ttl, Instant::now());
        Ok(())
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        self.compare_and_set(key, None, value, ttl).await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, opt_ttl_ms(ttl)?);
        check_value("value", new)?;
        let now = Instant::now();
        let mut store = self.store.lock();
        // Like Redis, SET NX succeeds over a sorted set only when absent; CAS reads bytes.
        let current = match expected {
            None => store.entry(&key, now).map(|_| Bytes::new()),
            Some(_) => store.bytes(&key, now)?,
        };
        if current.as_deref() != expected {
            return Ok(false);
        }
        store.put_bytes(&key, Bytes::copy_from_slice(new), ttl, now);
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let key = self.keys.key(key)?;
        Ok(self.store.lock().remove(&key, Instant::now()))
    }

    async fn incr(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> Result<i64, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, opt_ttl_ms(ttl_if_created)?);
        let now = Instant::now();
        let mut store = self.store.lock();
        let current = store.int(&key, now)?;
        let next = current.unwrap_or(0).checked_add(delta).ok_or_else(|| {
            CacheError::InvalidArgument("increment or decrement would overflow".into())
        })?;
        let value = Bytes::from(next.to_string());
        match store.entry(&key, now) {
            Some(entry) => entry.value = Value::Bytes(value),
            None => store.put_bytes(&key, value, ttl, now),
        }
        Ok(next)
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, ttl_ms(ttl)?);
        Ok(self.store.lock().expire(&key, ttl, Instant::now()))
    }

    async fn ttl(&self, key: &str) -> Result<KeyTtl, CacheError> {
        let key = self.keys.key(key)?;
        Ok(self.store.lock().ttl(&key, Instant::now()))
    }

    async fn zadd(&self, key: &str, member: &[u8], score_: f64) -> Result<bool, CacheError> {
        let (key, score_) = (self.keys.key(key)?, score("score", score_)?);
        check_value("member", member)?;
        let mut store = self.store.lock();
        match &mut store.sorted_entry(&key, Instant::now())?.value {
            Value::Sorted(set) => Ok(set.insert(Bytes::copy_from_slice(member), score_)),
            Value::Bytes(_) => Err(CacheError::Internal("sorted entry holds bytes".into())),
        }
    }

    async fn zrem(&self, key: &str, member: &[u8]) -> Result<bool, CacheError> {
        let key = self.keys.key(key)?;
        let mut store = self.store.lock();
        let removed = store
            .sorted(&key, Instant::now())?
            .is_some_and(|set| set.remove(member));
        store.drop_if_empty(&key);
        Ok(removed)
    }

    async fn zrange_by_score(
        &self,
        key: &str,
        min: f64,
        max: f64,
        limit: Option<usize>,
    ) -> Result<Vec<(Bytes, f64)>, CacheError> {
        let (key, min, max) = (self.keys.key(key)?, score("min", min)?, score("max", max)?);
        let mut store = self.store.lock();
        let set = store.sorted(&key, Instant::now())?;
        Ok(set
            .map(|set| set.range(min, max, limit))
            .unwrap_or_default())
    }

    async fn zrem_range_by_score(&self, key: &str, min: f64, max: f64) -> Result<u64, CacheError> {
        let (key, min, max) = (self.keys.key(key)?, score("min", min)?, score("max", max)?);
        let mut store = self.store.lock();
        let removed = store
            .sorted(&key, Instant::now())?
            .map_or(0, |set| set.remove_range(min, max));
        store.drop_if_empty(&key);
        Ok(removed)
    }

    async fn zcard(&self, key: &str) -> Result<u64, CacheError> {
        let key = self.keys.key(key)?;
        let mut store = self.store.lock();
        Ok(store
            .sorted(&key, Instant::now())?
            .map_or(0, |set| set.len() as u64))
    }

    async fn expiring_set_add(
        &self,
        key: &str,
        member: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, ttl_ms(ttl)?);
        check_value("member", member)?;
        let (now, now_ms) = (Instant::now(), unix_ms());
        let mut store = self.store.lock();
        let entry = store.sorted_entry(&key, now)?;
        let Value::Sorted(set) = &mut entry.value else {
            return Err(CacheError::Internal("sorted entry holds bytes".into()));
        };
        set.remove_range(f64::NEG_INFINITY, now_ms as f64);
        let added = set.insert(Bytes::copy_from_slice(member), (now_ms + ttl) as f64);
        let until = deadline(now, Some(ttl));
        if entry.expires_at.is_none_or(|at| Some(at) < until) {
            entry.expires_at = until;
        }
        Ok(added)
    }

    async fn expiring_set_members(&self, key: &str) -> Result<Vec<Bytes>, CacheError> {
        let key = self.keys.key(key)?;
        let now_ms = unix_ms() as f64;
        let mut store = self.store.lock();
        let members = match store.sorted(&key, Instant::now())? {
            None => Vec::new(),
            Some(set) => {
                set.remove_range(f64::NEG_INFINITY, now_ms);
                let live = set.range(f64::NEG_INFINITY, f64::INFINITY, None);
                live.into_iter().map(|(member, _)| member).collect()
            }
        };
        store.drop_if_empty(&key);
        Ok(members)
    }

    async fn expiring_set_remove(&self, key: &str, member: &[u8]) -> Result<bool, CacheError> {
        let key = self.keys.key(key)?;
        let now_ms = unix_ms() as f64;
        let mut store = self.store.lock();
        let removed = match store.sorted(&key, Instant::now())? {
            Some(set) => {
                let live = set.score(member).is_some_and(|expiry| expiry > now_ms);
                set.remove(member) && live
            }
            None => false,
        };
        store.drop_if_empty(&key);
        Ok(removed)
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        let channel = self.keys.channel(channel)?;
        check_value("payload", payload)?;
        self.bus.deliver(&channel, Bytes::copy_from_slice(payload));
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<MessageStream, CacheError> {
        let channel = self.keys.channel(channel)?;
        let (receiver, _) = self.bus.subscribe(&channel);
        let bus: Weak<Fanout> = Arc::downgrade(&self.bus);
        let release = move || {
            if let Some(bus) = bus.upgrade() {
                bus.release(&channel);
            }
        };
        Ok(Box::pin(Subscription::new(receiver, release)))
    }

    async fn eval(
        &self,
        script: &AtomicScript,
        keys: &[String],
        args: &[i64],
    ) -> Result<Vec<i64>, CacheError> {
        let keys = self.keys.keys(keys)?;
        script.run_local(&mut self.store.lock(), &keys, args)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
