//! Single-item writes, counters and batches.

use chatflow_errors::ErrorKind;
use chatflow_kv::{Condition, Item, KvError, KvStoreRef, Query};

use super::assert_kind;
use crate::{COUNTERS, MESSAGES, message};

pub async fn put_if_absent_writes_once(store: &KvStoreRef) {
    let item = message("c1", 1);
    let version = store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(version, 1);
    let again = Item::new(&item.pk, &item.sk, "other");
    let err = assert_kind(
        store.put(MESSAGES, again, Condition::IfAbsent).await,
        ErrorKind::Conflict,
    );
    assert!(
        matches!(err, KvError::ConditionFailed { ref table, .. } if table == MESSAGES),
        "{err}"
    );
    let stored = store
        .get(MESSAGES, &item.pk, &item.sk)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.data, item.data, "the losing write changed nothing");
}

pub async fn put_if_version_checks_and_bumps(store: &KvStoreRef) {
    let item = message("c1", 1);
    store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    let edited = Item::new(&item.pk, &item.sk, "edited");
    let v2 = store
        .put(MESSAGES, edited.clone(), Condition::IfVersion(1))
        .await
        .unwrap();
    assert_eq!(v2, 2);
    // A writer still holding version 1 loses.
    assert_kind(
        store
            .put(MESSAGES, item.clone(), Condition::IfVersion(1))
            .await,
        ErrorKind::Conflict,
    );
    let stored = store
        .get(MESSAGES, &item.pk, &item.sk)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.version, stored.data.as_ref()),
        (2, b"edited".as_ref())
    );
    // A version condition on a missing item fails too.
    let missing = message("c1", 99);
    assert_kind(
        store.put(MESSAGES, missing, Condition::IfVersion(1)).await,
        ErrorKind::Conflict,
    );
}

pub async fn blind_put_overwrites_with_given_version(store: &KvStoreRef) {
    let mut item = message("c1", 1).with_gsi1("u1", "a");
    item.counters.insert("likes".into(), 3);
    store
        .put(MESSAGES, item.clone(), Condition::None)
        .await
        .unwrap();
    let mut replacement = Item::new(&item.pk, &item.sk, "v7");
    replacement.version = 7;
    assert_eq!(
        store
            .put(MESSAGES, replacement.clone(), Condition::None)
            .await
            .unwrap(),
        7
    );
    // The whole item is replaced: index key and counters are gone.
    let stored = store
        .get(MESSAGES, &item.pk, &item.sk)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, replacement);
}

pub async fn get_round_trips_every_field(store: &KvStoreRef) {
    assert!(
        store
            .get(MESSAGES, "nobody", "nothing")
            .await
            .unwrap()
            .is_none()
    );
    let mut item = Item::new("conv#ü/?&", "msg#✓", vec![0u8, 1, 255, 128])
        .with_gsi1("user#1", "2024-01-01T00:00:00Z")
        .with_expires_at(super::now() + 3600);
    item.counters.insert("reads".into(), -5);
    item.counters.insert("with space & ü".into(), i64::MAX);
    store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    let stored = store
        .get(MESSAGES, &item.pk, &item.sk)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, Item { version: 1, ..item });
    // An empty payload round-trips as empty.
    let empty = Item::new("p", "s", Vec::new());
    store
        .put(MESSAGES, empty.clone(), Condition::None)
        .await
        .unwrap();
    assert_eq!(store.get(MESSAGES, "p", "s").await.unwrap().unwrap(), empty);
}

pub async fn delete_honours_its_condition(store: &KvStoreRef) {
    let item = message("c1", 1);
    store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    assert_kind(
        store
            .delete(MESSAGES, &item.pk, &item.sk, Condition::IfVersion(5))
            .await,
        ErrorKind::Conflict,
    );
    assert_kind(
        store
            .delete(MESSAGES, &item.pk, &item.sk, Condition::IfAbsent)
            .await,
        ErrorKind::InvalidArgument,
    );
    store
        .delete(MESSAGES, &item.pk, &item.sk, Condition::IfVersion(1))
        .await
        .unwrap();
    assert!(
        store
            .get(MESSAGES, &item.pk, &item.sk)
            .await
            .unwrap()
            .is_none()
    );
    // Deleting what is not there is fine without a condition.
    store
        .delete(MESSAGES, &item.pk, &item.sk, Condition::None)
        .await
        .unwrap();
}

pub async fn increment_creates_and_accumulates(store: &KvStoreRef) {
    assert_eq!(
        store
            .increment(COUNTERS, "conv#1", "head", "seq", 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .increment(COUNTERS, "conv#1", "head", "seq", 41)
            .await
            .unwrap(),
        42
    );
    assert_eq!(
        store
            .increment(COUNTERS, "conv#1", "head", "unread", -3)
            .await
            .unwrap(),
        -3
    );
    let head = store
        .get(COUNTERS, "conv#1", "head")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.counters.get("seq"), Some(&42));
    assert_eq!(head.counters.get("unread"), Some(&-3));
    assert_eq!(head.version, 3, "every increment bumps the version");
    assert!(head.data.is_empty());
    // Increments keep the payload written before them.
    let item = Item::new("conv#2", "head", "meta");
    store
        .put(COUNTERS, item, Condition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(
        store
            .increment(COUNTERS, "conv#2", "head", "seq", 5)
            .await
            .unwrap(),
        5
    );
    let head = store
        .get(COUNTERS, "conv#2", "head")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((head.data.as_ref(), head.version), (b"meta".as_ref(), 2));
}

pub async fn batch_put_writes_100_items(store: &KvStoreRef) {
    let items: Vec<Item> = (0..100).map(|seq| message("batch", seq)).collect();
    store.batch_put(MESSAGES, items.clone()).await.unwrap();
    let page = store
        .query(MESSAGES, Query::new("conv#batch").with_limit(1000))
        .await
        .unwrap();
    assert_eq!(page.items, items);
    assert!(page.next.is_none());
    let dup = vec![message("batch", 1), message("batch", 1)];
    assert_kind(
        store.batch_put(MESSAGES, dup).await,
        ErrorKind::InvalidArgument,
    );
    store.batch_put(MESSAGES, Vec::new()).await.unwrap();
}
