//! [`CachedGroups`]: answers of any [`GroupsClient`], cached per conversation
//! and invalidated from the bus.
//!
//! The router and gateway ask "may U post/read in C" for every message and
//! delivery; most answers do not change for hours. Each node keeps them in
//! memory (bounded, with a TTL as a backstop) and follows
//! `chatflow.groups.membership_changed` with a live tail: the groups service
//! publishes an event for every change of members, roles or permissions
//! (and of blocks in direct conversations), and the node drops that
//! conversation's answers the moment the event arrives — typically a few
//! milliseconds after the change committed, so a removed member is refused
//! everywhere well within a second. While the feed is broken the cache is
//! bypassed: every question goes to the service.

mod follow;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chatflow_events::EventBusRef;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use self::store::Store;
use crate::{
    Action, ClientError, Conversation, Decision, GroupsClient, GroupsClientRef,
    MEMBERSHIP_CHANGED_PARTITIONS, MEMBERSHIP_CHANGED_TOPIC, Members,
};

/// Bounds of a [`CachedGroups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// Most answers kept; the oldest conversations are dropped first.
    pub max_entries: usize,
    /// How long an answer is served at most, even without an event (a
    /// backstop against a lost event; invalidation is the real mechanism).
    pub ttl: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            ttl: Duration::from_secs(60),
        }
    }
}

/// State shared with the follower task.
struct Shared {
    store: Mutex<Store>,
    /// False while the invalidation feed is down: bypass the cache.
    healthy: AtomicBool,
    /// Counts applied invalidation events (tests await it instead of sleeping).
    invalidations: watch::Sender<u64>,
}

/// A [`GroupsClient`] that caches `authorize` and `members` answers of
/// another one; cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct CachedGroups {
    inner: GroupsClientRef,
    shared: Arc<Shared>,
}

impl CachedGroups {
    /// Wraps `inner` and starts following invalidations on `bus` until
    /// `shutdown`. Creates the topic if missing. Once this returns, every
    /// change committed afterwards invalidates this cache.
    pub async fn spawn(
        inner: GroupsClientRef,
        bus: EventBusRef,
        options: CacheOptions,
        shutdown: CancellationToken,
    ) -> Result<Self, ClientError> {
        let bus_error = |e: chatflow_events::BusError| {
            ClientError::new(
                chatflow_errors::HasKind::kind(&e),
                format!("membership feed: {e}"),
            )
        };
        crate::metrics::describe();
        bus.ensure_topic(MEMBERSHIP_CHANGED_TOPIC, MEMBERSHIP_CHANGED_PARTITIONS)
            .await
            .map_err(bus_error)?;
        let sub = follow::open(&bus).await.map_err(bus_error)?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(options.max_entries, options.ttl)),
            healthy: AtomicBool::new(true),
            invalidations: watch::channel(0).0,
        });
        tokio::spawn(follow::run(shared.clone(), bus, sub, shutdown));
        Ok(Self { inner, shared })
    }

    /// Drops the cached answers of one conversation now.
    pub fn invalidate(&self, conversation_id: &str) {
        self.shared.store.lock().invalidate(conversation_id);
    }

    /// Number of answers cached.
    pub fn len(&self) -> usize {
        self.shared.store.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts invalidation events applied so far; `changed()` resolves on the next.
    pub fn invalidations(&self) -> watch::Receiver<u64> {
        self.shared.invalidations.subscribe()
    }

    fn healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::SeqCst)
    }
}

/// Counts a lookup by outcome.
fn count(what: &'static str, outcome: &'static str) {
    metrics::counter!(crate::metrics::CACHE_LOOKUPS, "call" => what, "outcome" => outcome)
        .increment(1);
}

#[async_trait]
impl GroupsClient for CachedGroups {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: Action,
    ) -> Result<Decision, ClientError> {
        if !self.healthy() {
            count("authorize", "bypass");
            return self.inner.authorize(user_id, conversation_id, action).await;
        }
        let mark = {
            let store = self.shared.store.lock();
            if let Some(hit) = store.decision(conversation_id, user_id, action) {
                count("authorize", "hit");
                return Ok(hit);
            }
            store.mark()
        };
        count("authorize", "miss");
        let decision = self
            .inner
            .authorize(user_id, conversation_id, action)
            .await?;
        if self.healthy() {
            self.shared.store.lock().put_decision(
                mark,
                conversation_id,
                user_id,
                action,
                decision.clone(),
            );
        }
        Ok(decision)
    }

    async fn members(&self, conversation_id: &str) -> Result<Members, ClientError> {
        if !self.healthy() {
            count("members", "bypass");
            return self.inner.members(conversation_id).await;
        }
        let mark = {
            let store = self.shared.store.lock();
            if let Some(hit) = store.members(conversation_id) {
                count("members", "hit");
                return Ok(hit);
            }
            store.mark()
        };
        count("members", "miss");
        let members = self.inner.members(conversation_id).await?;
        if self.healthy() {
            self.shared
                .store
                .lock()
                .put_members(mark, conversation_id, members.clone());
        }
        Ok(members)
    }

    /// Not cached: creating a conversation is rare, and its answer is the
    /// service's to give.
    async fn ensure_direct(&self, user_a: &str, user_b: &str) -> Result<Conversation, ClientError> {
        self.inner.ensure_direct(user_a, user_b).await
    }
}
