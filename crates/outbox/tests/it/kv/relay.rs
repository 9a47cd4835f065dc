//! The relay: order, at-least-once through a bus outage, unpublishable
//! events, wake-on-commit, one lease holder per shard, a last pass at shutdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{LAYOUT, NAMES, World};

/// Per key, the numbers in the order they were published.
fn per_key(events: &[(String, u32)], key: &str) -> Vec<u32> {
    events
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, n)| *n)
        .collect()
}

#[tokio::test]
async fn publishes_each_key_in_order_and_empties_the_outbox() {
    let world = World::new().await;
    for n in 0..30 {
        for key in ["a", "bb", "ccc", "dddd", "eeeee"] {
            world.commit(key, n).await;
        }
    }
    let stop = CancellationToken::new();
    let running = tokio::spawn(world.relay("one").run(stop.clone()));
    world.drained().await;
    let events = world.published(150).await;
    for key in ["a", "bb", "ccc", "dddd", "eeeee"] {
        assert_eq!(per_key(&events, key), (0..30).collect::<Vec<_>>(), "{key}");
    }
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn an_unpublishable_event_is_dropped_instead_of_blocking_its_shard() {
    let world = World::new().await;
    world.commit("k", 0).await;
    world.commit_event("k", 1, true).await;
    world.commit("k", 2).await;
    let stop = CancellationToken::new();
    let running = tokio::spawn(world.relay("one").run(stop.clone()));
    world.drained().await;
    assert_eq!(per_key(&world.published(2).await, "k"), [0, 2]);
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn a_commit_wakes_its_shard_without_waiting_for_the_poll() {
    let world = World::new().await;
    let relay = world.relay("one");
    let wake = relay.wake();
    let stop = CancellationToken::new();
    let running = tokio::spawn(relay.run(stop.clone()));
    world.commit("late", 1).await;
    wake.wake("late");
    world.drained().await;
    assert_eq!(world.published(1).await, [("late".to_owned(), 1)]);
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn events_wait_out_a_bus_outage_and_go_out_once_it_ends() {
    let world = World::new().await;
    world.down.store(true, Ordering::SeqCst);
    for n in 0..5 {
        world.commit("k", n).await;
    }
    let stop = CancellationToken::new();
    let running = tokio::spawn(world.relay("one").run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        world.outbox().pending().await.unwrap(),
        5,
        "nothing is lost"
    );
    world.down.store(false, Ordering::SeqCst);
    world.drained().await;
    assert_eq!(per_key(&world.published(5).await, "k"), [0, 1, 2, 3, 4]);
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn one_instance_relays_a_shard_and_gives_it_up_at_shutdown() {
    let world = World::new().await;
    let stop_one = CancellationToken::new();
    let one = world.relay("one");
    let wake_one = one.wake();
    let one = tokio::spawn(one.run(stop_one.clone()));
    // The relay may have made its first pass before this commit: wake it,
    // as a writer does after every commit.
    world.commit("k", 0).await;
    wake_one.wake("k");
    world.drained().await;
    let shard = (LAYOUT.shard_of)("k");
    let lease = format!("{}{shard}", NAMES.lease_key_prefix);
    assert_eq!(&world.cache.get(&lease).await.unwrap().unwrap()[..], b"one");

    // A second instance finds every shard leased and publishes nothing.
    let two = world.relay("two");
    let wake_two = two.wake();
    let stop_two = CancellationToken::new();
    let two = tokio::spawn(two.run(stop_two.clone()));
    world.commit("k", 1).await;
    wake_two.wake("k");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(world.outbox().pending().await.unwrap(), 1);

    // The first one's last pass publishes it; its leases lapse for the other.
    stop_one.cancel();
    one.await.unwrap();
    world.drained().await;
    assert_eq!(per_key(&world.published(2).await, "k"), [0, 1]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    world.commit("k", 2).await;
    wake_two.wake("k");
    world.drained().await;
    assert_eq!(&world.cache.get(&lease).await.unwrap().unwrap()[..], b"two");
    assert_eq!(per_key(&world.published(3).await, "k"), [0, 1, 2]);
    stop_two.cancel();
    two.await.unwrap();
}
