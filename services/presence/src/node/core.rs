//! The replica's state under one lock: the CRDT, this node's clock, the
//! devices connected here, the reports waiting to be published, and the
//! schedule of expiries that tells watchers when a remote device times out.
//!
//! This node stamps its own devices' reports with its HLC; remote entries
//! are merged by the CRDT's rule (greatest stamp wins) after the clock has
//! observed their stamps, so a later local report always wins over anything
//! already seen. One exception keeps a live connection authoritative: if a
//! remote *offline* report wins for a device still connected here (it moved
//! from another node, whose disconnect raced our connect), this node reports
//! the device again at once.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use chatflow_presence_crdt::{Clock, DeviceEntry, PresenceState, Status, UserPresence};

use crate::wire::WireEntry;

/// (user id, device id).
pub(crate) type DeviceKey = (String, String);

/// A device connected (or recently disconnected) here.
struct Owned {
    /// Status per connection of the device; empty once disconnected.
    conns: HashMap<u64, Status>,
    last_active_ms: i64,
    /// The last report made for it (what the snapshot carries).
    entry: DeviceEntry,
    /// The activity time last handed to the durable last-seen writer.
    durable_ms: i64,
}

impl Owned {
    fn status(&self) -> Status {
        self.conns
            .values()
            .copied()
            .max()
            .unwrap_or(Status::Offline)
    }
}

/// Everything behind the node's state lock.
pub(crate) struct Core {
    clock: Clock,
    state: PresenceState,
    owned: HashMap<DeviceKey, Owned>,
    outgoing: Vec<WireEntry>,
    last_seen_out: HashMap<String, i64>,
    expiries: BinaryHeap<Reverse<(i64, String)>>,
    next_conn: u64,
    ttl_ms: i64,
    /// Set by local reports: the snapshot should be rewritten soon.
    pub(crate) snapshot_dirty: bool,
}

impl Core {
    pub(crate) fn new(node_id: &str, ttl_ms: i64) -> Self {
        Self {
            clock: Clock::new(node_id),
            state: PresenceState::default(),
            owned: HashMap::new(),
            outgoing: Vec::new(),
            last_seen_out: HashMap::new(),
            expiries: BinaryHeap::new(),
            next_conn: 0,
            ttl_ms,
            snapshot_dirty: false,
        }
    }

    /// A new connection of `key`, online; returns its id and whether the
    /// user's presence changed.
    pub(crate) fn connect(&mut self, key: &DeviceKey, now: i64) -> (u64, bool) {
        self.next_conn += 1;
        let conn = self.next_conn;
        let owned = self.owned.entry(key.clone()).or_insert_with(|| Owned {
            conns: HashMap::new(),
            last_active_ms: now,
            entry: placeholder(),
            durable_ms: 0,
        });
        let before = owned.status();
        owned.conns.insert(conn, Status::Online);
        owned.last_active_ms = owned.last_active_ms.max(now);
        let changed = before != Status::Online && self.report(key, now);
        (conn, changed)
    }

    /// Connection `conn` of `key` says `status`; true if the user changed.
    pub(crate) fn set_status(
        &mut self,
        key: &DeviceKey,
        conn: u64,
        status: Status,
        now: i64,
    ) -> bool {
        let Some(owned) = self.owned.get_mut(key) else {
            return false;
        };
        let before = owned.status();
        match owned.conns.get_mut(&conn) {
            Some(held) if *held != status => *held = status,
            _ => return false,
        }
        if owned.status() == before {
            return false;
        }
        owned.last_active_ms = owned.last_active_ms.max(now);
        self.report(key, now)
    }

    /// Activity on `key`: travels with the next snapshot, not as a delta.
    pub(crate) fn touch(&mut self, key: &DeviceKey, now: i64) {
        if let Some(owned) = self.owned.get_mut(key) {
            owned.last_active_ms = owned.last_active_ms.max(now);
        }
    }

    /// Connection `conn` of `key` is gone; true if the user changed.
    pub(crate) fn disconnect(&mut self, key: &DeviceKey, conn: u64, now: i64) -> bool {
        let Some(owned) = self.owned.get_mut(key) else {
            return false;
        };
        let before = owned.status();
        if owned.conns.remove(&conn).is_none() {
            return false;
        }
        if owned.conns.is_empty() {
            owned.last_active_ms = owned.last_active_ms.max(now);
        } else if owned.status() == before {
            return false;
        }
        self.report(key, now)
    }

    /// Stamps and applies a report of `key`'s current status; queues it for
    /// publication. True if the user's presence changed.
    fn report(&mut self, key: &DeviceKey, now: i64) -> bool {
        let Some(owned) = self.owned.get_mut(key) else {
            return false;
        };
        let status = owned.status();
        let stamp = self.clock.tick(now);
        let expires_at_ms = if status == Status::Offline {
            now.min(stamp.wall_ms)
        } else {
            now + self.ttl_ms
        };
        let entry = DeviceEntry {
            status,
            last_active_ms: owned.last_active_ms,
            expires_at_ms,
            stamp,
        };
        owned.entry = entry.clone();
        owned.durable_ms = owned.last_active_ms;
        let (user, device) = key;
        let slot = self.last_seen_out.entry(user.clone()).or_default();
        *slot = (*slot).max(entry.last_active_ms);
        self.outgoing.push(WireEntry {
            user_id: user.clone(),
            device_id: device.clone(),
            entry: entry.clone(),
        });
        self.snapshot_dirty = true;
        self.apply(user, device, entry, now)
    }

    /// Applies one entry; true if the user's presence changed.
    fn apply(&mut self, user: &str, device: &str, entry: DeviceEntry, now: i64) -> bool {
        let before = self.state.user(user, now);
        let live_until = (entry.status != Status::Offline).then_some(entry.expires_at_ms);
        if !self.state.apply(user, device, entry) {
            return false;
        }
        if let Some(at) = live_until.filter(|at| *at > now) {
            self.expiries.push(Reverse((at, user.to_owned())));
        }
        self.state.user(user, now) != before
    }

    /// Merges entries from another node; returns the users whose presence
    /// changed, and how many local devices had to be reported again.
    pub(crate) fn merge_remote(
        &mut self,
        entries: Vec<WireEntry>,
        now: i64,
    ) -> (HashSet<String>, usize) {
        let mut changed = HashSet::new();
        let mut reassert = Vec::new();
        for wire in entries {
            self.clock.observe(&wire.entry.stamp);
            let offline = wire.entry.status == Status::Offline;
            let key = (wire.user_id, wire.device_id);
            let held = self.state.user(&key.0, now);
            if !self.state.apply(&key.0, &key.1, wire.entry.clone()) {
                continue;
            }
            if !offline && wire.entry.expires_at_ms > now {
                self.expiries
                    .push(Reverse((wire.entry.expires_at_ms, key.0.clone())));
            }
            if self.state.user(&key.0, now) != held {
                changed.insert(key.0.clone());
            }
            if offline && self.owned.get(&key).is_some_and(|o| !o.conns.is_empty()) {
                reassert.push(key);
            }
        }
        let reasserted = reassert.len();
        for key in reassert {
            if self.report(&key, now) {
                changed.insert(key.0);
            }
        }
        (changed, reasserted)
    }

    /// Re-stamps the connected devices with a fresh expiry and returns what
    /// this node's snapshot holds: those, plus devices disconnected less than
    /// a TTL ago (so a missed offline delta still spreads). Also returns the
    /// users whose presence changed (activity reported by `touch`).
    pub(crate) fn refresh(&mut self, now: i64) -> (Vec<WireEntry>, HashSet<String>) {
        let ttl = self.ttl_ms;
        self.owned
            .retain(|_, o| !o.conns.is_empty() || o.entry.last_active_ms + ttl > now);
        let keys: Vec<DeviceKey> = self.owned.keys().cloned().collect();
        let mut snapshot = Vec::with_capacity(keys.len());
        let mut changed = HashSet::new();
        for key in keys {
            let Some(owned) = self.owned.get_mut(&key) else {
                continue;
            };
            if !owned.conns.is_empty() {
                owned.entry = DeviceEntry {
                    status: owned.status(),
                    last_active_ms: owned.last_active_ms,
                    expires_at_ms: now + ttl,
                    stamp: self.clock.tick(now),
                };
                if owned.last_active_ms > owned.durable_ms {
                    owned.durable_ms = owned.last_active_ms;
                    let slot = self.last_seen_out.entry(key.0.clone()).or_default();
                    *slot = (*slot).max(owned.last_active_ms);
                }
                let entry = owned.entry.clone();
                if self.apply(&key.0, &key.1, entry, now) {
                    changed.insert(key.0.clone());
                }
            }
            if let Some(owned) = self.owned.get(&key) {
                snapshot.push(WireEntry {
                    user_id: key.0.clone(),
                    device_id: key.1.clone(),
                    entry: owned.entry.clone(),
                });
            }
        }
        self.snapshot_dirty = false;
        (snapshot, changed)
    }

    /// The reports waiting to be published.
    pub(crate) fn take_outgoing(&mut self) -> Vec<WireEntry> {
        std::mem::take(&mut self.outgoing)
    }

    /// The last-seen times waiting to be written to the cache.
    pub(crate) fn take_last_seen(&mut self) -> HashMap<String, i64> {
        std::mem::take(&mut self.last_seen_out)
    }

    /// Users with a device whose TTL has passed since the last call.
    pub(crate) fn due_expiries(&mut self, now: i64) -> HashSet<String> {
        let mut due = HashSet::new();
        while self
            .expiries
            .peek()
            .is_some_and(|Reverse((at, _))| *at <= now)
        {
            if let Some(Reverse((_, user))) = self.expiries.pop() {
                due.insert(user);
            }
        }
        due
    }

    /// A user's presence now.
    pub(crate) fn presence(&self, user: &str, now: i64) -> UserPresence {
        self.state.user(user, now)
    }

    /// The live (online or away) devices of each of `users`, in one pass.
    pub(crate) fn live_devices(
        &self,
        users: &HashSet<&str>,
        now: i64,
    ) -> HashMap<String, Vec<String>> {
        let mut devices: HashMap<String, Vec<String>> = HashMap::new();
        for (user, device, entry) in self.state.entries() {
            if users.contains(user) && entry.status != Status::Offline && entry.expires_at_ms > now
            {
                devices
                    .entry(user.to_owned())
                    .or_default()
                    .push(device.to_owned());
            }
        }
        devices
    }

    /// Forgets users whose every device expired more than `retention_ms`
    /// ago (their last-seen lives on in the cache), and old entries of the
    /// others but their most recently active one. Returns entries left.
    pub(crate) fn prune(&mut self, now: i64, retention_ms: i64) -> usize {
        let horizon = now - retention_ms;
        let mut newest: HashMap<&str, i64> = HashMap::new();
        for (user, _, entry) in self.state.entries() {
            let at = newest.entry(user).or_insert(i64::MIN);
            *at = (*at).max(entry.expires_at_ms).max(entry.last_active_ms);
        }
        let local: HashSet<&str> = self.owned.keys().map(|(u, _)| u.as_str()).collect();
        let stale: HashSet<String> = newest
            .into_iter()
            .filter(|(user, at)| *at < horizon && !local.contains(user))
            .map(|(user, _)| user.to_owned())
            .collect();
        if !stale.is_empty() {
            let mut kept = PresenceState::default();
            for (user, device, entry) in self.state.entries() {
                if !stale.contains(user) {
                    kept.apply(user, device, entry.clone());
                }
            }
            self.state = kept;
        }
        self.state.prune(horizon);
        self.state.len()
    }

    /// Devices connected here.
    pub(crate) fn local_devices(&self) -> usize {
        self.owned.values().filter(|o| !o.conns.is_empty()).count()
    }
}

/// Stands in for a device's entry until its first report (made at once).
fn placeholder() -> DeviceEntry {
    DeviceEntry {
        status: Status::Offline,
        last_active_ms: 0,
        expires_at_ms: 0,
        stamp: chatflow_presence_crdt::Stamp {
            wall_ms: i64::MIN,
            counter: 0,
            node: String::new(),
        },
    }
}
