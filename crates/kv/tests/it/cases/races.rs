//! Concurrency: conditional writes and counters under racing tasks.

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_kv::{Condition, Item, KvStoreRef};

use crate::{COUNTERS, MESSAGES};

pub async fn racing_if_absent_puts_have_one_winner(store: &KvStoreRef) {
    let racers = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let item = Item::new("conv#race", "msg#0000000001", format!("writer {i}"));
            store.put(MESSAGES, item, Condition::IfAbsent).await
        })
    });
    let results = futures::future::join_all(racers).await;
    let mut winners = 0;
    for result in results {
        match result.unwrap() {
            Ok(version) => {
                assert_eq!(version, 1);
                winners += 1;
            }
            Err(err) => assert_eq!(err.kind(), ErrorKind::Conflict, "{err}"),
        }
    }
    assert_eq!(winners, 1);
    let stored = store
        .get(MESSAGES, "conv#race", "msg#0000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1);
}

pub async fn concurrent_increments_are_exact(store: &KvStoreRef) {
    let tasks = (0..32).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                store
                    .increment(COUNTERS, "conv#hot", "head", "seq", 1)
                    .await
                    .unwrap();
            }
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    let head = store
        .get(COUNTERS, "conv#hot", "head")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.counters.get("seq"), Some(&3200));
    assert_eq!(head.version, 3200);
}
