//! SQLite-only: the embedded store's file is durable and memory works too.

use chatflow_kv::{Condition, Item, Query};

use crate::{MESSAGES, message, options, specs};

#[tokio::test]
async fn acknowledged_writes_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kv.db").display());
    let opts = options();
    {
        let store = chatflow_kv::connect(&url, opts.clone()).await.unwrap();
        store.ensure_tables(&specs()).await.unwrap();
        store
            .put(MESSAGES, message("d", 1), Condition::IfAbsent)
            .await
            .unwrap();
        store
            .increment(MESSAGES, "conv#d", "head", "seq", 1)
            .await
            .unwrap();
    }
    let store = chatflow_kv::connect(&url, opts).await.unwrap();
    store.ensure_tables(&specs()).await.unwrap();
    let page = store.query(MESSAGES, Query::new("conv#d")).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let head = store
        .get(MESSAGES, "conv#d", "head")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.counters.get("seq"), Some(&1));
}

#[tokio::test]
async fn in_memory_store_works() {
    let store = chatflow_kv::connect("sqlite::memory:", options())
        .await
        .unwrap();
    store.ensure_tables(&specs()).await.unwrap();
    let item = Item::new("p", "s", "x");
    store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(
        store.get(MESSAGES, "p", "s").await.unwrap().unwrap().data,
        item.data
    );
}

#[tokio::test]
async fn unknown_schemes_are_invalid_config() {
    let err = chatflow_kv::connect("redis://x", options())
        .await
        .unwrap_err();
    assert!(
        matches!(err, chatflow_kv::KvError::InvalidConfig(_)),
        "{err}"
    );
}
