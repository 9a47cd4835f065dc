//! [`PresenceNode`]: one presence replica. Every gateway process and every
//! presence-service process runs one; they converge through the cache port.
//!
//! - Local devices: [`PresenceNode::connect`] returns a [`DeviceGuard`];
//!   the node stamps each status change with its hybrid logical clock,
//!   applies it, and publishes it in the next delta batch (every
//!   `delta_batch`). Connections of one device are counted; dropping the
//!   last reports the device offline with last activity = now.
//! - Replication (`replicate`, `snapshot`): deltas on `presence:deltas`
//!   (at most once); every `refresh` the node re-stamps its connected devices
//!   with a fresh expiry and writes them as its snapshot; every
//!   `anti_entropy` it merges the other live nodes' snapshots. A node that
//!   dies stops refreshing, so its devices expire everywhere within
//!   `device_ttl`, reading offline with their last activity as last-seen.
//!   Formats and keys are in [`crate::wire`].
//! - Reads: [`PresenceNode::get`] and [`PresenceNode::watch`] filter through
//!   the viewer's visibility (`visible`); watches are coalesced and never
//!   block the node (`watch`).
//!
//! The node runs until the `shutdown` token given to [`PresenceNode::start`]
//! is cancelled; cancelling stops replication at once, as a crash would, so
//! cancel it after the connections are drained.

mod core;
mod guard;
mod last_seen;
mod refresh;
mod replicate;
mod snapshot;
mod stats;
#[cfg(test)]
mod tests;
mod visible;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chatflow_cache::CacheRef;
use chatflow_runtime::clock::now_ms;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

pub use guard::{DeviceGuard, Watch};
pub use stats::NodeStats;

pub(crate) use self::stats::{Counters, bump};

use self::core::Core;
use self::visible::Visibility;
use self::watch::{Slot, Watches};
use crate::view::{MAX_USERS_PER_GET, check_device_id, check_user_id, check_user_list};
use crate::{PresenceError, PresenceSettings, PresenceView, VisibilityRef};

/// The state shared by a node's handles, guards, watches and tasks.
pub(crate) struct Inner {
    pub(crate) node_id: String,
    pub(crate) settings: PresenceSettings,
    pub(crate) cache: CacheRef,
    pub(crate) core: Mutex<Core>,
    pub(crate) watches: Mutex<Watches>,
    pub(crate) visibility: Visibility,
    pub(crate) counters: Counters,
    /// Asks the snapshot task for an anti-entropy pass now (deltas were lost).
    pub(crate) resync: Notify,
    pub(crate) replicating: AtomicBool,
    pub(crate) stop: CancellationToken,
}

impl Inner {
    /// Marks the watches of `users` for re-evaluation.
    pub(crate) fn changed<'a>(&self, users: impl IntoIterator<Item = &'a String>) {
        self.watches.lock().mark_dirty(users);
    }

    /// Counts a refused payload from `source`.
    pub(crate) fn decode_failed(&self, source: &'static str, err: &crate::wire::DecodeError) {
        bump(&self.counters.decode_failures, 1);
        metrics::counter!(crate::metrics::DECODE_FAILURES, "source" => source, "reason" => err.reason())
            .increment(1);
        tracing::warn!(source, error = %err, "presence payload refused");
    }
}

/// One presence replica; cheap to clone.
#[derive(Clone)]
pub struct PresenceNode {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PresenceNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceNode")
            .field("node_id", &self.inner.node_id)
            .finish_non_exhaustive()
    }
}

impl PresenceNode {
    /// Starts a replica on `cache`: follows the delta channel, catches up
    /// from the other nodes' snapshots, announces itself, and runs until
    /// `shutdown`. Fails if the settings are unsafe or the cache cannot be
    /// subscribed to.
    pub async fn start(
        cache: CacheRef,
        visibility: VisibilityRef,
        settings: PresenceSettings,
        shutdown: CancellationToken,
    ) -> Result<Self, PresenceError> {
        settings.check()?;
        crate::metrics::describe();
        let node_id = uuid::Uuid::new_v4().simple().to_string();
        let ttl_ms = i64::try_from(settings.device_ttl.as_millis()).unwrap_or(i64::MAX);
        let inner = Arc::new(Inner {
            core: Mutex::new(Core::new(&node_id, ttl_ms)),
            visibility: Visibility::new(
                visibility,
                settings.visibility_cache_ttl,
                settings.visibility_timeout,
            ),
            node_id,
            settings,
            cache,
            watches: Mutex::default(),
            counters: Counters::default(),
            resync: Notify::new(),
            replicating: AtomicBool::new(false),
            stop: shutdown,
        });
        let deltas = inner.cache.subscribe(crate::wire::DELTA_CHANNEL).await?;
        inner.replicating.store(true, Ordering::SeqCst);
        snapshot::merge_others(&inner).await;
        snapshot::write(&inner).await;
        tokio::spawn(replicate::follow(inner.clone(), deltas));
        tokio::spawn(replicate::publish(inner.clone()));
        tokio::spawn(snapshot::run(inner.clone()));
        tokio::spawn(refresh::flush(inner.clone()));
        tokio::spawn(refresh::visibility(inner.clone()));
        tracing::info!(node_id = %inner.node_id, backend = inner.cache.backend(), "presence node started");
        Ok(Self { inner })
    }

    /// This replica's id (its key in `presence:nodes`).
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &PresenceSettings {
        &self.inner.settings
    }

    /// Whether it follows the delta channel now (for readiness).
    pub fn is_replicating(&self) -> bool {
        self.inner.replicating.load(Ordering::SeqCst) && !self.inner.stop.is_cancelled()
    }

    /// What it has done so far.
    pub fn stats(&self) -> NodeStats {
        self.inner.counters.snapshot()
    }

    /// Device `device_id` of `user_id` is connected here, online, until the
    /// returned guard (and every other guard of the same device) is dropped.
    pub fn connect(&self, user_id: &str, device_id: &str) -> Result<DeviceGuard, PresenceError> {
        check_user_id("user_id", user_id)?;
        check_device_id("device_id", device_id)?;
        let key = (user_id.to_owned(), device_id.to_owned());
        let (conn, changed) = self.inner.core.lock().connect(&key, now_ms());
        if changed {
            self.inner.changed([&key.0]);
        }
        Ok(DeviceGuard::new(self.inner.clone(), key, conn))
    }

    /// `owner`'s visibility answers are stale (a privacy or block change):
    /// drop them and re-evaluate the watches that follow `owner`.
    pub fn invalidate_visibility(&self, owner: &str) {
        self.inner.visibility.invalidate(owner);
    }

    /// Follows the profile service's privacy and block events on `bus` (a
    /// live tail: every node sees every event), invalidating answers as they
    /// come. Once this returns, every later event is seen.
    pub async fn follow_profile_events(
        &self,
        bus: chatflow_events::EventBusRef,
    ) -> Result<(), PresenceError> {
        crate::events::follow(self.inner.clone(), bus).await
    }

    /// The presence of `users` (at most 1000, in request order) as `viewer`
    /// may see them; `None` is a service asking for itself: no filtering,
    /// and the live device ids are included.
    pub async fn get(
        &self,
        viewer: Option<&str>,
        users: &[String],
    ) -> Result<Vec<PresenceView>, PresenceError> {
        let unique = check_user_list("user_ids", users, MAX_USERS_PER_GET)?;
        let visible: HashMap<String, bool> = match viewer {
            Some(viewer) => {
                check_user_id("viewer_id", viewer)?;
                let answers = self.inner.visibility.visible(viewer, &unique).await?;
                unique.iter().cloned().zip(answers).collect()
            }
            None => unique.iter().map(|u| (u.clone(), true)).collect(),
        };
        let now = now_ms();
        let (presence, mut devices) = {
            let core = self.inner.core.lock();
            let presence: HashMap<String, _> = unique
                .iter()
                .map(|u| (u.clone(), core.presence(u, now)))
                .collect();
            let devices = match viewer {
                Some(_) => HashMap::new(),
                None => core.live_devices(&unique.iter().map(String::as_str).collect(), now),
            };
            (presence, devices)
        };
        let forgotten: Vec<String> = unique
            .iter()
            .filter(|u| visible[*u] && presence[*u].last_seen_ms.is_none())
            .cloned()
            .collect();
        let known = last_seen::read_many(&self.inner, &forgotten).await;
        Ok(users
            .iter()
            .map(|user| {
                let mut view = PresenceView::seen(
                    user,
                    presence[user],
                    visible[user],
                    known.get(user).copied(),
                );
                if viewer.is_none() {
                    view.device_ids = devices.remove(user).unwrap_or_default();
                }
                view
            })
            .collect())
    }

    /// Follows `users` (at most `max_watch_users`) as `viewer` may see them:
    /// their presence now, then coalesced updates whenever what the viewer
    /// sees changes. Dropping the [`Watch`] ends it.
    pub async fn watch(&self, viewer: &str, users: Vec<String>) -> Result<Watch, PresenceError> {
        if self.inner.stop.is_cancelled() {
            return Err(PresenceError::Unavailable(
                "the presence node has stopped".into(),
            ));
        }
        check_user_id("viewer_id", viewer)?;
        let unique = check_user_list("user_ids", &users, self.inner.settings.max_watch_users)?;
        let asked = Instant::now();
        let visible = self.inner.visibility.visible(viewer, &unique).await?;
        let now = now_ms();
        let forgotten: Vec<String> = {
            let core = self.inner.core.lock();
            unique
                .iter()
                .zip(&visible)
                .filter(|(u, v)| **v && core.presence(u, now).last_seen_ms.is_none())
                .map(|(u, _)| u.clone())
                .collect()
        };
        let known = last_seen::read_many(&self.inner, &forgotten).await;
        let (tx, rx) = mpsc::channel(self.inner.settings.watch_buffer);
        let now = now_ms();
        let (id, initial) = {
            let core = self.inner.core.lock();
            let mut watches = self.inner.watches.lock();
            let mut slots = HashMap::with_capacity(unique.len());
            let mut initial = Vec::with_capacity(unique.len());
            for (user, visible) in unique.iter().zip(visible) {
                let presence = core.presence(user, now);
                let known = known.get(user).copied();
                let view = PresenceView::seen(user, presence, visible, known);
                let known = known.max(presence.last_seen_ms);
                slots.insert(user.clone(), Slot::new(visible, known, view.clone()));
                initial.push(view);
            }
            (watches.insert(viewer, tx, slots), initial)
        };
        let raced: Vec<String> = unique
            .iter()
            .filter(|u| self.inner.visibility.invalidated_since(u, asked))
            .cloned()
            .collect();
        if !raced.is_empty() {
            self.inner.visibility.requeue(&raced);
            self.inner.visibility.wake.notify_one();
        }
        Ok(Watch::new(self.inner.clone(), id, initial, rx))
    }
}
