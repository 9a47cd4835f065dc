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

/// Writers that arrive together are committed together (group commit), and
/// each still gets exactly its own outcome: a failed condition in one job
/// rolls back that job only, never its neighbours in the same commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_committed_together_keep_their_own_outcomes() {
    use chatflow_kv::{KvError, TxOp};

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kv.db").display());
    let opts = options();
    let store = chatflow_kv::connect(&url, opts.clone()).await.unwrap();
    store.ensure_tables(&specs()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let race = store
                .put(MESSAGES, Item::new("race", "k", "x"), Condition::IfAbsent)
                .await;
            let own = store
                .put(
                    MESSAGES,
                    Item::new("own", format!("{i:04}"), "y"),
                    Condition::IfAbsent,
                )
                .await;
            // Its second op cannot hold, so its first must not be stored.
            let doomed = store
                .transact(vec![
                    TxOp::Put {
                        table: MESSAGES.into(),
                        item: Item::new("doomed", format!("{i:04}"), "z"),
                        condition: Condition::IfAbsent,
                    },
                    TxOp::ConditionCheck {
                        table: MESSAGES.into(),
                        pk: "missing".into(),
                        sk: "never".into(),
                        condition: Condition::IfVersion(7),
                    },
                ])
                .await;
            (race.is_ok(), own, doomed)
        }));
    }
    let mut winners = 0;
    for task in tasks {
        let (won, own, doomed) = task.await.unwrap();
        winners += usize::from(won);
        assert_eq!(own.unwrap(), 1);
        assert!(
            matches!(doomed, Err(KvError::TransactionCanceled { op: 1, .. })),
            "{doomed:?}"
        );
    }
    assert_eq!(winners, 1, "exactly one conditional put wins the race");
    let count = |pk: &'static str| {
        let store = store.clone();
        async move {
            let query = Query::new(pk).with_limit(1000);
            store.query(MESSAGES, query).await.unwrap().items.len()
        }
    };
    assert_eq!(count("own").await, 200);
    assert_eq!(count("doomed").await, 0);
    assert_eq!(count("race").await, 1);
    drop(store);
    // And all of it was durable: a fresh open sees the same.
    let reopened = chatflow_kv::connect(&url, opts).await.unwrap();
    let page = reopened
        .query(MESSAGES, Query::new("own").with_limit(1000))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 200);
}
