//! Durability of the embedded SQLite backend across a reopen (a restart).

use std::time::Duration;

use chatflow_events::{BusOptions, EventBusRef, connect};

use crate::support::{record, text};

async fn open(url: &str) -> EventBusRef {
    let options = BusOptions {
        topic_prefix: None,
        request_timeout: Duration::from_secs(10),
    };
    connect(url, options).await.unwrap()
}

async fn next(sub: &mut Box<dyn chatflow_events::Subscription>) -> chatflow_events::Delivery {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("timed out")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_committed_offsets_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bus.db").display());

    let bus = open(&url).await;
    bus.ensure_topic("durable", 1).await.unwrap();
    for i in 0..10 {
        bus.publish(record("durable", "k", &format!("r{i}")))
            .await
            .unwrap();
    }
    let mut sub = bus.subscribe("g", &["durable".into()]).await.unwrap();
    for i in 0..4 {
        let d = next(&mut sub).await;
        assert_eq!(text(&d), format!("r{i}"));
        sub.commit(&d).await.unwrap();
    }
    sub.close().await.unwrap();
    drop(bus);

    let bus = open(&url).await;
    // Offsets continue where the log ended instead of restarting at 0.
    let (_, offset) = bus.publish(record("durable", "k", "r10")).await.unwrap();
    assert_eq!(offset, 10);
    let mut sub = bus.subscribe("g", &["durable".into()]).await.unwrap();
    for i in 4..=10 {
        assert_eq!(text(&next(&mut sub).await), format!("r{i}"));
    }
    let mut fresh = bus.subscribe("other", &["durable".into()]).await.unwrap();
    assert_eq!(
        text(&next(&mut fresh).await),
        "r0",
        "a new group starts at the earliest record"
    );
}

#[tokio::test]
async fn memory_bus_forgets_on_reopen() {
    let bus = open("memory://").await;
    bus.ensure_topic("gone", 1).await.unwrap();
    drop(bus);
    let bus = open("memory://").await;
    let err = bus.publish(record("gone", "k", "v")).await.unwrap_err();
    assert!(
        matches!(err, chatflow_events::BusError::NotFound(_)),
        "{err}"
    );
}

#[tokio::test]
async fn unwritable_sqlite_path_is_unavailable() {
    let err = connect(
        "sqlite:///nonexistent-dir/sub/bus.db",
        BusOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err, chatflow_events::BusError::Unavailable(_)),
        "{err}"
    );
}
