//! Property tests of the presence CRDT: merge is commutative, associative
//! and idempotent; replicas converge after any interleaving of reports and
//! gossip; and the devices of a node that vanished read offline everywhere
//! once their TTL has passed.
#![allow(clippy::unwrap_used, missing_docs)]

use chatflow_presence_crdt::{Clock, DeviceEntry, PresenceState, Stamp, Status};
use proptest::prelude::*;

const USERS: [&str; 3] = ["ann", "bob", "cy"];
const DEVICES: [&str; 2] = ["phone", "laptop"];
const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Online),
        Just(Status::Away),
        Just(Status::Offline)
    ]
}

/// A report with an arbitrary stamp, for the algebraic laws.
fn entry() -> impl Strategy<Value = (usize, usize, DeviceEntry)> {
    (
        0..USERS.len(),
        0..DEVICES.len(),
        status(),
        0i64..1000,
        0u32..4,
        0..NODES.len(),
        0i64..2000,
    )
        .prop_map(|(user, device, status, wall, counter, node, ttl)| {
            let entry = DeviceEntry {
                status,
                last_active_ms: wall,
                expires_at_ms: wall + ttl,
                stamp: Stamp {
                    wall_ms: wall,
                    counter,
                    node: NODES[node].to_owned(),
                },
            };
            (user, device, entry)
        })
}

fn state() -> impl Strategy<Value = PresenceState> {
    proptest::collection::vec(entry(), 0..12).prop_map(|entries| {
        let mut state = PresenceState::default();
        for (user, device, entry) in entries {
            state.apply(USERS[user], DEVICES[device], entry);
        }
        state
    })
}

fn merged(a: &PresenceState, b: &PresenceState) -> PresenceState {
    let mut out = a.clone();
    out.merge(b);
    out
}

/// One step of a run: a device reports at a node, or one node gossips to another.
#[derive(Debug, Clone)]
enum Step {
    Report {
        node: usize,
        user: usize,
        device: usize,
        status: Status,
        advance_ms: i64,
        ttl_ms: i64,
    },
    Gossip {
        from: usize,
        to: usize,
        delta: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            0..NODES.len(),
            0..USERS.len(),
            0..DEVICES.len(),
            status(),
            0i64..50,
            1i64..500
        )
            .prop_map(
                |(node, user, device, status, advance_ms, ttl_ms)| Step::Report {
                    node,
                    user,
                    device,
                    status,
                    advance_ms,
                    ttl_ms
                }
            ),
        (0..NODES.len(), 0..NODES.len(), any::<bool>())
            .prop_map(|(from, to, delta)| Step::Gossip { from, to, delta }),
    ]
}

/// Runs `steps` on one replica per node (each with its own clock, skewed by
/// `skew_ms`), then lets every replica gossip its full state to every other.
fn run(steps: &[Step], skew_ms: [i64; 3]) -> (Vec<PresenceState>, i64) {
    let mut clocks: Vec<Clock> = NODES.iter().map(|n| Clock::new(*n)).collect();
    let mut replicas = vec![PresenceState::default(); NODES.len()];
    let mut seen: Vec<Stamp> = vec![
        Stamp {
            wall_ms: i64::MIN,
            counter: 0,
            node: String::new()
        };
        NODES.len()
    ];
    let mut now = 1_000;
    for step in steps {
        match step {
            Step::Report {
                node,
                user,
                device,
                status,
                advance_ms,
                ttl_ms,
            } => {
                now += advance_ms;
                let local = now + skew_ms[*node];
                let stamp = clocks[*node].tick(local);
                let entry = DeviceEntry {
                    status: *status,
                    last_active_ms: local,
                    expires_at_ms: local + ttl_ms,
                    stamp,
                };
                replicas[*node].apply(USERS[*user], DEVICES[*device], entry);
            }
            Step::Gossip { from, to, delta } => {
                let sent = if *delta {
                    replicas[*from].delta_since(&seen[*to])
                } else {
                    replicas[*from].clone()
                };
                replicas[*to].merge(&sent);
                if let Some(latest) = replicas[*to].max_stamp().cloned() {
                    clocks[*to].observe(&latest);
                    seen[*to] = latest;
                }
            }
        }
    }
    for from in 0..NODES.len() {
        for to in 0..NODES.len() {
            let sent = replicas[from].clone();
            replicas[to].merge(&sent);
        }
    }
    (replicas, now)
}

proptest! {
    #[test]
    fn merge_is_commutative(a in state(), b in state()) {
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
    }

    #[test]
    fn merge_is_associative(a in state(), b in state(), c in state()) {
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
    }

    #[test]
    fn merge_is_idempotent(a in state(), b in state()) {
        prop_assert_eq!(merged(&a, &a), a.clone());
        let once = merged(&a, &b);
        prop_assert_eq!(merged(&once, &b), once);
    }

    #[test]
    fn replicas_converge_after_any_interleaving(
        steps in proptest::collection::vec(step(), 0..60),
        skew in proptest::array::uniform3(-200i64..200),
    ) {
        let (replicas, now) = run(&steps, skew);
        for replica in &replicas[1..] {
            prop_assert_eq!(replica, &replicas[0]);
        }
        for user in USERS {
            for at in [now - 100, now, now + 250, now + 1000] {
                let views: Vec<_> = replicas.iter().map(|r| r.user(user, at)).collect();
                prop_assert!(views.iter().all(|v| *v == views[0]), "{user} at {at}: {views:?}");
            }
        }
    }

    #[test]
    fn devices_of_a_vanished_node_expire_everywhere(
        steps in proptest::collection::vec(step(), 1..40),
        skew in proptest::array::uniform3(-200i64..200),
    ) {
        // Node C reports and gossips like the others, then vanishes: it
        // never refreshes again. Past the longest TTL, nobody is connected
        // on any replica, and every replica still agrees on last-seen.
        let (replicas, now) = run(&steps, skew);
        let after_every_ttl = now + 500 + 200 + 1;
        for user in USERS {
            let views: Vec<_> = replicas[..2].iter().map(|r| r.user(user, after_every_ttl)).collect();
            prop_assert!(views.iter().all(|v| v.status == Status::Offline), "{user}: {views:?}");
            prop_assert_eq!(views[0].last_seen_ms, views[1].last_seen_ms);
        }
    }

    #[test]
    fn pruning_never_changes_what_a_user_looks_like(a in state(), horizon in 0i64..3000, at in 0i64..3000) {
        let mut pruned = a.clone();
        pruned.prune(horizon.min(at));
        for user in USERS {
            prop_assert_eq!(pruned.user(user, at), a.user(user, at));
        }
    }
}

#[test]
fn a_user_is_online_if_any_live_device_is_and_last_seen_is_the_latest_activity() {
    let mut clock = Clock::new("node-a");
    let mut state = PresenceState::default();
    let report = |clock: &mut Clock, status, at: i64, ttl: i64| DeviceEntry {
        status,
        last_active_ms: at,
        expires_at_ms: at + ttl,
        stamp: clock.tick(at),
    };
    state.apply(
        "ann",
        "phone",
        report(&mut clock, Status::Away, 1000, 30_000),
    );
    state.apply(
        "ann",
        "laptop",
        report(&mut clock, Status::Online, 2000, 30_000),
    );
    let view = state.user("ann", 2500);
    assert_eq!(
        (view.status, view.last_seen_ms),
        (Status::Online, Some(2000))
    );
    // The laptop's node vanished: its entry expires, the phone is still away.
    state.apply(
        "ann",
        "phone",
        report(&mut clock, Status::Away, 40_000, 30_000),
    );
    assert_eq!(state.user("ann", 40_001).status, Status::Away);
    assert_eq!(state.user("ann", 80_000).status, Status::Offline);
    assert_eq!(state.user("ann", 80_000).last_seen_ms, Some(40_000));
    // An older report never overwrites a newer one.
    let stale = DeviceEntry {
        status: Status::Online,
        last_active_ms: 1,
        expires_at_ms: 99_999,
        stamp: Stamp {
            wall_ms: 1,
            counter: 0,
            node: "node-z".into(),
        },
    };
    assert!(!state.apply("ann", "phone", stale));
    // The state is plain JSON on the wire, and survives the trip.
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<PresenceState>(&json).unwrap(), state);
}
