//! The outbox table: a shard read in key order, page by page; removal.

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_kv::{Condition, Item};
use chatflow_outbox::kv::KvOutboxError;

use super::{LAYOUT, World};

#[tokio::test]
async fn pages_a_shard_in_key_order_and_removes_what_was_published() {
    let world = World::new().await;
    let outbox = world.outbox();
    for n in [2, 0, 1, 3] {
        world.commit("k", n).await;
    }
    world.commit("zz", 0).await; // another shard
    let shard = (LAYOUT.shard_of)("k");

    let (first, next) = outbox.page(shard, None, 3).await.unwrap();
    let sks: Vec<_> = first.iter().map(|e| e.sk.as_str()).collect();
    assert_eq!(sks, ["k#0000", "k#0001", "k#0002"]);
    assert_eq!(first[2].record.n, 2);
    let (rest, _) = outbox.page(shard, next, 3).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].sk, "k#0003");
    assert_eq!(outbox.pending().await.unwrap(), 5);

    let gone = vec!["k#0000".to_owned(), "k#0001".to_owned()];
    outbox.remove(shard, &gone).await.unwrap();
    outbox.remove(shard, &gone).await.unwrap();
    let (left, _) = outbox.page(shard, None, 10).await.unwrap();
    let sks: Vec<_> = left.iter().map(|e| e.sk.as_str()).collect();
    assert_eq!(sks, ["k#0002", "k#0003"]);
    assert_eq!(outbox.pending().await.unwrap(), 3);
}

#[tokio::test]
async fn an_undecodable_item_fails_the_page() {
    let world = World::new().await;
    let item = Item::new((LAYOUT.shard_pk)(0), "x#1", b"not json".to_vec());
    world
        .kv
        .put(LAYOUT.table, item, Condition::None)
        .await
        .unwrap();
    let err = world.outbox().page(0, None, 10).await.unwrap_err();
    assert!(matches!(err, KvOutboxError::Corrupt { ref sk, .. } if sk == "x#1"));
    assert_eq!(err.kind(), ErrorKind::Internal);
}
