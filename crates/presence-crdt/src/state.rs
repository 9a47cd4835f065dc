//! The replicated presence state: one entry per (user, device), merged by
//! last-writer-wins on hybrid logical clock stamps.
//!
//! Merge rules:
//! - for each (user, device) the entry with the greater [`Stamp`] wins;
//!   stamps are totally ordered, so merge is commutative, associative and
//!   idempotent, and replicas that saw the same entries are equal;
//! - an entry is *live* until its `expires_at_ms` (its node refreshes it
//!   while the device is connected). A node that disappears stops
//!   refreshing, and its devices read as offline everywhere once the TTL
//!   passes, without anyone having to say so;
//! - a user is online if any live device is online, away if any is away,
//!   else offline; last seen is the latest `last_active_ms` of any entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hlc::Stamp;

/// What a device reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Connected, not in use.
    Offline,
    /// Connected and idle.
    Away,
    /// Connected and in use.
    Online,
}

/// One device's latest report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    /// The reported status.
    pub status: Status,
    /// When the user was last active on the device (Unix ms).
    pub last_active_ms: i64,
    /// After this (Unix ms) the entry no longer counts as connected.
    pub expires_at_ms: i64,
    /// When the report was made; the greatest wins.
    pub stamp: Stamp,
}

/// A user's presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPresence {
    /// Online, away or offline.
    pub status: Status,
    /// Latest activity on any device (Unix ms), if any was ever reported.
    pub last_seen_ms: Option<i64>,
}

/// The state one replica holds: user id → device id → latest report
/// (nested maps, so the state is plain JSON on the wire).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceState {
    users: BTreeMap<String, BTreeMap<String, DeviceEntry>>,
}

impl PresenceState {
    /// Records `entry` for `device` of `user` if it is newer than what is held;
    /// true if it changed the state.
    pub fn apply(&mut self, user: &str, device: &str, entry: DeviceEntry) -> bool {
        let devices = self.users.entry(user.to_owned()).or_default();
        match devices.get(device) {
            Some(held) if held.stamp >= entry.stamp => false,
            _ => {
                devices.insert(device.to_owned(), entry);
                true
            }
        }
    }

    /// Folds another replica's state into this one.
    pub fn merge(&mut self, other: &Self) {
        for (user, device, entry) in other.entries() {
            self.apply(user, device, entry.clone());
        }
    }

    /// The entries newer than `since` (a delta for anti-entropy).
    pub fn delta_since(&self, since: &Stamp) -> Self {
        let mut delta = Self::default();
        for (user, device, entry) in self.entries() {
            if entry.stamp > *since {
                delta.apply(user, device, entry.clone());
            }
        }
        delta
    }

    /// The newest stamp held, to ask peers for what came after it.
    pub fn max_stamp(&self) -> Option<&Stamp> {
        self.entries().map(|(_, _, entry)| &entry.stamp).max()
    }

    /// Every (user, device, entry) held.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &DeviceEntry)> {
        self.users.iter().flat_map(|(user, devices)| {
            devices
                .iter()
                .map(move |(device, entry)| (user.as_str(), device.as_str(), entry))
        })
    }

    /// `user`'s presence at wall time `now_ms`.
    pub fn user(&self, user: &str, now_ms: i64) -> UserPresence {
        let mut status = Status::Offline;
        let mut last_seen_ms = None;
        for entry in self.users.get(user).into_iter().flat_map(BTreeMap::values) {
            last_seen_ms = last_seen_ms.max(Some(entry.last_active_ms));
            if entry.expires_at_ms > now_ms {
                status = status.max(entry.status);
            }
        }
        UserPresence {
            status,
            last_seen_ms,
        }
    }

    /// Drops entries expired before `horizon_ms`, keeping each user's most
    /// recently active one so last-seen answers do not change. Replicas may
    /// prune at different times: a pruned entry that comes back in a merge
    /// is still expired, so what users look like is the same.
    pub fn prune(&mut self, horizon_ms: i64) {
        for devices in self.users.values_mut() {
            let newest = devices.values().map(|e| e.last_active_ms).max();
            devices.retain(|_, entry| {
                entry.expires_at_ms >= horizon_ms || Some(entry.last_active_ms) == newest
            });
        }
        self.users.retain(|_, devices| !devices.is_empty());
    }

    /// How many device entries are held.
    pub fn len(&self) -> usize {
        self.users.values().map(BTreeMap::len).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}
