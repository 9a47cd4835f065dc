//! Unit tests of the node's pure parts: the locked state and the watch
//! registry, driven with explicit clocks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chatflow_presence_crdt::{Clock, DeviceEntry, Status, UserPresence};
use tokio::sync::mpsc;

use super::core::{Core, DeviceKey};
use super::watch::{Slot, Watches};
use crate::PresenceView;
use crate::wire::WireEntry;

const TTL: i64 = 10_000;

fn key(user: &str, device: &str) -> DeviceKey {
    (user.to_owned(), device.to_owned())
}

fn remote(clock: &mut Clock, user: &str, status: Status, at: i64) -> WireEntry {
    let expires_at_ms = if status == Status::Offline {
        at
    } else {
        at + TTL
    };
    WireEntry {
        user_id: user.to_owned(),
        device_id: "phone".to_owned(),
        entry: DeviceEntry {
            status,
            last_active_ms: at,
            expires_at_ms,
            stamp: clock.tick(at),
        },
    }
}

#[test]
fn connections_of_a_device_are_counted() {
    let mut core = Core::new("a", TTL);
    let phone = key("ann", "phone");
    let (first, changed) = core.connect(&phone, 1_000);
    assert!(changed);
    let (second, changed) = core.connect(&phone, 1_001);
    assert!(!changed, "a second connection is not news");
    assert!(
        !core.set_status(&phone, first, Status::Away, 1_002),
        "the other is online"
    );
    assert!(core.set_status(&phone, second, Status::Away, 1_003));
    assert_eq!(core.presence("ann", 1_004).status, Status::Away);
    assert!(!core.disconnect(&phone, first, 1_005));
    assert!(core.disconnect(&phone, second, 1_006));
    let gone = core.presence("ann", 1_007);
    assert_eq!(
        gone,
        UserPresence {
            status: Status::Offline,
            last_seen_ms: Some(1_006)
        }
    );
    let statuses: Vec<Status> = core
        .take_outgoing()
        .iter()
        .map(|w| w.entry.status)
        .collect();
    assert_eq!(statuses, [Status::Online, Status::Away, Status::Offline]);
    assert_eq!(core.take_last_seen().get("ann"), Some(&1_006));
    assert_eq!(core.local_devices(), 0);
}

#[test]
fn a_remote_offline_report_for_a_device_connected_here_is_overridden() {
    let mut core = Core::new("b", TTL);
    let phone = key("ann", "phone");
    core.connect(&phone, 1_000);
    core.take_outgoing();
    // The device was on node a, whose disconnect is stamped after our connect.
    let mut a = Clock::new("a");
    let late_offline = remote(&mut a, "ann", Status::Offline, 2_000);
    let stamp = late_offline.entry.stamp.clone();
    let (_, reasserted) = core.merge_remote(vec![late_offline], 2_001);
    assert_eq!(reasserted, 1);
    assert_eq!(core.presence("ann", 2_002).status, Status::Online);
    let again = core.take_outgoing();
    assert_eq!(again.len(), 1);
    assert!(
        again[0].entry.stamp > stamp,
        "the new report wins everywhere"
    );
}

#[test]
fn refresh_extends_connected_devices_and_keeps_recent_offline_ones() {
    let mut core = Core::new("a", TTL);
    let (phone, tablet) = (key("ann", "phone"), key("bob", "tablet"));
    core.connect(&phone, 1_000);
    let (conn, _) = core.connect(&tablet, 1_000);
    core.disconnect(&tablet, conn, 1_500);
    let (snapshot, _) = core.refresh(5_000);
    assert_eq!(snapshot.len(), 2);
    let phone_entry = snapshot
        .iter()
        .find(|w| w.user_id == "ann")
        .map(|w| &w.entry);
    assert_eq!(phone_entry.map(|e| e.expires_at_ms), Some(5_000 + TTL));
    assert!(!core.snapshot_dirty);
    let (snapshot, _) = core.refresh(1_500 + TTL + 1);
    let users: Vec<&str> = snapshot.iter().map(|w| w.user_id.as_str()).collect();
    assert_eq!(
        users,
        ["ann"],
        "an offline device leaves the snapshot after a TTL"
    );
}

#[test]
fn remote_expiries_are_scheduled_for_watchers() {
    let mut core = Core::new("b", TTL);
    let mut a = Clock::new("a");
    let (changed, _) = core.merge_remote(vec![remote(&mut a, "ann", Status::Online, 1_000)], 1_001);
    assert!(changed.contains("ann"));
    assert!(core.due_expiries(1_000 + TTL - 1).is_empty());
    assert!(core.due_expiries(1_000 + TTL).contains("ann"));
    assert_eq!(core.presence("ann", 1_000 + TTL).status, Status::Offline);
}

#[test]
fn prune_forgets_long_offline_users_but_not_local_ones() {
    let mut core = Core::new("b", TTL);
    let mut a = Clock::new("a");
    core.merge_remote(vec![remote(&mut a, "old", Status::Offline, 1_000)], 1_001);
    let (conn, _) = core.connect(&key("here", "phone"), 1_000);
    core.set_status(&key("here", "phone"), conn, Status::Away, 1_000);
    let left = core.prune(100_000, 10_000);
    assert_eq!(left, 1);
    assert_eq!(core.presence("old", 100_000).last_seen_ms, None);
    assert_eq!(core.presence("here", 1_001).status, Status::Away);
}

fn watch_of(users: &[&str], buffer: usize) -> (Watches, u64, mpsc::Receiver<PresenceView>) {
    let mut watches = Watches::default();
    let (tx, rx) = mpsc::channel(buffer);
    let slots = users
        .iter()
        .map(|u| {
            (
                (*u).to_owned(),
                Slot::new(true, None, PresenceView::hidden(u)),
            )
        })
        .collect();
    let id = watches.insert("viewer", tx, slots);
    (watches, id, rx)
}

fn online(last: i64) -> UserPresence {
    UserPresence {
        status: Status::Online,
        last_seen_ms: Some(last),
    }
}

#[test]
fn flushes_are_coalesced_and_dropped_when_the_buffer_is_full() {
    let coalesce = Duration::from_millis(100);
    let (mut watches, _, mut rx) = watch_of(&["ann"], 1);
    let ann = "ann".to_owned();
    let start = Instant::now();
    let mut now = HashMap::from([(ann.clone(), online(1))]);
    watches.mark_dirty([&ann]);
    assert_eq!(watches.flush(&now, start, coalesce).sent, 1);
    // A change within the interval waits, then the buffer is still full.
    now.insert(
        ann.clone(),
        UserPresence {
            status: Status::Away,
            last_seen_ms: Some(2),
        },
    );
    watches.mark_dirty([&ann]);
    assert!(watches.due_users(start + coalesce / 2, coalesce).is_empty());
    assert_eq!(watches.flush(&now, start + coalesce / 2, coalesce).sent, 0);
    let full = watches.flush(&now, start + coalesce, coalesce);
    assert_eq!((full.sent, full.dropped), (0, 1));
    assert_eq!(rx.try_recv().map(|v| v.status).ok(), Some(Status::Online));
    // Offered again one interval after the drop, with the latest state.
    assert_eq!(
        watches.flush(&now, start + coalesce * 3 / 2, coalesce).sent,
        0
    );
    assert_eq!(watches.flush(&now, start + coalesce * 2, coalesce).sent, 1);
    assert_eq!(rx.try_recv().map(|v| v.status).ok(), Some(Status::Away));
    // Nothing changed: nothing sent, nothing left dirty.
    watches.mark_dirty([&ann]);
    assert_eq!(watches.flush(&now, start + coalesce * 4, coalesce).sent, 0);
    assert!(watches.due_users(start + coalesce * 5, coalesce).is_empty());
}

#[test]
fn a_visibility_change_is_sent_at_once() {
    let coalesce = Duration::from_secs(60);
    let (mut watches, id, mut rx) = watch_of(&["ann"], 4);
    let ann = "ann".to_owned();
    let now = HashMap::from([(ann.clone(), online(1))]);
    let start = Instant::now();
    watches.mark_dirty([&ann]);
    assert_eq!(watches.flush(&now, start, coalesce).sent, 1);
    watches.set_visible(id, "ann", false);
    assert_eq!(
        watches.flush(&now, start, coalesce).sent,
        1,
        "privacy skips the interval"
    );
    assert_eq!(rx.try_recv().ok().map(|v| v.status), Some(Status::Online));
    assert_eq!(rx.try_recv().ok(), Some(PresenceView::hidden("ann")));
    watches.remove(id);
    assert!(watches.due_users(start, coalesce).is_empty());
    assert_eq!(watches.len(), 0);
}
