//! Watches: who follows whose presence on this node, what each watcher was
//! last sent, and the coalescing flush.
//!
//! A change marks `(watch, user)` dirty; the flush (every `delta_batch`)
//! computes what the viewer would now see and sends it only if it differs
//! from what they have. A user already sent within the last `coalesce`
//! stays dirty until the interval has passed, so a watcher gets at most one
//! update per user per interval, always the latest state. Sending never
//! waits: if the watcher's buffer is full the update is dropped, counted,
//! and offered again one interval later, so a watcher that catches up still
//! ends with the current state.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chatflow_presence_crdt::{Status, UserPresence};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::PresenceView;

/// One watched user, as the watch knows them.
pub(crate) struct Slot {
    /// Whether the viewer may see this user.
    pub(crate) visible: bool,
    /// The user's last-seen as read from the cache (or seen since), so a
    /// user pruned from memory does not lose it.
    pub(crate) known_last_seen: Option<i64>,
    /// What the viewer has now.
    sent: PresenceView,
    last_emit: Option<Instant>,
}

impl Slot {
    /// Whether the coalescing interval lets this user be sent again.
    fn due(&self, now: Instant, coalesce: Duration) -> bool {
        self.last_emit
            .is_none_or(|at| now.saturating_duration_since(at) >= coalesce)
    }

    /// A slot whose viewer was just given `initial`.
    pub(crate) fn new(visible: bool, known_last_seen: Option<i64>, initial: PresenceView) -> Self {
        Self {
            visible,
            known_last_seen,
            sent: initial,
            last_emit: None,
        }
    }
}

struct Entry {
    viewer: String,
    tx: mpsc::Sender<PresenceView>,
    slots: HashMap<String, Slot>,
    /// When visibility was last asked for all of its users.
    checked_at: Instant,
}

/// A visibility question the refresher should ask for one watch.
pub(crate) struct Recheck {
    pub(crate) watch: u64,
    pub(crate) viewer: String,
    pub(crate) owners: Vec<String>,
}

/// What one flush did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flushed {
    pub(crate) sent: u64,
    pub(crate) dropped: u64,
}

/// Every watch of the node.
#[derive(Default)]
pub(crate) struct Watches {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    by_user: HashMap<String, HashSet<u64>>,
    dirty: HashSet<(u64, String)>,
}

impl Watches {
    /// Registers a watch; returns its id.
    pub(crate) fn insert(
        &mut self,
        viewer: &str,
        tx: mpsc::Sender<PresenceView>,
        slots: HashMap<String, Slot>,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        for user in slots.keys() {
            self.by_user.entry(user.clone()).or_default().insert(id);
        }
        let entry = Entry {
            viewer: viewer.to_owned(),
            tx,
            slots,
            checked_at: Instant::now(),
        };
        self.entries.insert(id, entry);
        id
    }

    /// Forgets a watch.
    pub(crate) fn remove(&mut self, id: u64) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        for user in entry.slots.keys() {
            if let Some(ids) = self.by_user.get_mut(user) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_user.remove(user);
                }
            }
            self.dirty.remove(&(id, user.clone()));
        }
    }

    /// Ends every watch (the node stopped): their receivers see the end.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.by_user.clear();
        self.dirty.clear();
    }

    /// How many watches are live.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Marks every watch of each of `users` for re-evaluation.
    pub(crate) fn mark_dirty<'a>(&mut self, users: impl IntoIterator<Item = &'a String>) {
        for user in users {
            for id in self.by_user.get(user).into_iter().flatten() {
                self.dirty.insert((*id, user.clone()));
            }
        }
    }

    /// Users with a re-evaluation the coalescing interval allows now.
    pub(crate) fn due_users(&self, now: Instant, coalesce: Duration) -> HashSet<String> {
        self.dirty
            .iter()
            .filter(|(id, user)| {
                let slot = self.entries.get(id).and_then(|e| e.slots.get(user));
                slot.is_none_or(|slot| slot.due(now, coalesce))
            })
            .map(|(_, user)| user.clone())
            .collect()
    }

    /// Sets whether watch `id`'s viewer may see `user`; a change is flushed
    /// at once, whatever the coalescing interval (privacy comes first).
    pub(crate) fn set_visible(&mut self, id: u64, user: &str, visible: bool) {
        let Some(slot) = self
            .entries
            .get_mut(&id)
            .and_then(|e| e.slots.get_mut(user))
        else {
            return;
        };
        if slot.visible != visible {
            slot.visible = visible;
            slot.last_emit = None;
            self.dirty.insert((id, user.to_owned()));
        }
    }

    /// Sends what changed for the dirty pairs whose interval has passed,
    /// given each dirty user's presence now.
    pub(crate) fn flush(
        &mut self,
        presence: &HashMap<String, UserPresence>,
        now: Instant,
        coalesce: Duration,
    ) -> Flushed {
        let mut flushed = Flushed::default();
        let mut done = Vec::new();
        let mut closed = Vec::new();
        for (id, user) in &self.dirty {
            let Some(entry) = self.entries.get_mut(id) else {
                done.push((*id, user.clone()));
                continue;
            };
            let Some(slot) = entry.slots.get_mut(user) else {
                done.push((*id, user.clone()));
                continue;
            };
            if !slot.due(now, coalesce) {
                continue;
            }
            let current = presence.get(user).copied().unwrap_or(UserPresence {
                status: Status::Offline,
                last_seen_ms: None,
            });
            slot.known_last_seen = slot.known_last_seen.max(current.last_seen_ms);
            let view = PresenceView::seen(user, current, slot.visible, slot.known_last_seen);
            if view == slot.sent {
                done.push((*id, user.clone()));
                continue;
            }
            match entry.tx.try_send(view.clone()) {
                Ok(()) => {
                    slot.sent = view;
                    slot.last_emit = Some(now);
                    flushed.sent += 1;
                    done.push((*id, user.clone()));
                }
                Err(TrySendError::Full(_)) => {
                    // Stays dirty: offered again once the interval has passed.
                    slot.last_emit = Some(now);
                    flushed.dropped += 1;
                }
                Err(TrySendError::Closed(_)) => closed.push(*id),
            }
        }
        for pair in done {
            self.dirty.remove(&pair);
        }
        for id in closed {
            self.remove(id);
        }
        flushed
    }

    /// Questions for the watches of `owners` (all watches when `all`).
    pub(crate) fn rechecks_for(&self, owners: &HashSet<String>, all: bool) -> Vec<Recheck> {
        self.entries
            .iter()
            .filter_map(|(id, entry)| {
                let wanted: Vec<String> = entry
                    .slots
                    .keys()
                    .filter(|user| all || owners.contains(*user))
                    .cloned()
                    .collect();
                (!wanted.is_empty()).then(|| Recheck {
                    watch: *id,
                    viewer: entry.viewer.clone(),
                    owners: wanted,
                })
            })
            .collect()
    }

    /// Questions for every watch last checked `ttl` ago or more; marks them
    /// checked now.
    pub(crate) fn due_rechecks(&mut self, now: Instant, ttl: Duration) -> Vec<Recheck> {
        let mut due = Vec::new();
        for (id, entry) in &mut self.entries {
            if now.saturating_duration_since(entry.checked_at) >= ttl {
                entry.checked_at = now;
                due.push(Recheck {
                    watch: *id,
                    viewer: entry.viewer.clone(),
                    owners: entry.slots.keys().cloned().collect(),
                });
            }
        }
        due
    }
}
