//! DynamoDB-only: a server that is not there, or that dies and comes back.

use std::pin::Pin;
use std::time::{Duration, Instant};

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_kv::{
    Condition, Cursor, Item, KvError, KvOptions, KvStoreRef, MAX_ITEM_BYTES, Query, TxOp,
};

use crate::emulator::{self, free_port};
use crate::{COUNTERS, MESSAGES, message, specs};

const OP_TIMEOUT: Duration = Duration::from_secs(3);
/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(2);

/// One store call, boxed so different calls fit in one list.
type Call<'a> = Pin<Box<dyn Future<Output = Result<(), KvError>> + Send + 'a>>;

fn fault_options() -> KvOptions {
    KvOptions {
        op_timeout: OP_TIMEOUT,
        ..crate::options()
    }
}

/// Runs every kind of call and checks each fails `Unavailable` within the timeout.
async fn assert_every_call_unavailable(store: &KvStoreRef) {
    let tx = vec![TxOp::Put {
        table: MESSAGES.into(),
        item: message("f", 2),
        condition: Condition::IfAbsent,
    }];
    let calls: Vec<(&str, Call<'_>)> = vec![
        (
            "get",
            Box::pin(async { store.get(MESSAGES, "p", "s").await.map(drop) }),
        ),
        (
            "put blind",
            Box::pin(async {
                store
                    .put(MESSAGES, message("f", 1), Condition::None)
                    .await
                    .map(drop)
            }),
        ),
        (
            "put if absent",
            Box::pin(async {
                store
                    .put(MESSAGES, message("f", 1), Condition::IfAbsent)
                    .await
                    .map(drop)
            }),
        ),
        (
            "query",
            Box::pin(async { store.query(MESSAGES, Query::new("conv#f")).await.map(drop) }),
        ),
        (
            "increment",
            Box::pin(async { store.increment(COUNTERS, "p", "s", "n", 1).await.map(drop) }),
        ),
        (
            "batch_put",
            Box::pin(async { store.batch_put(MESSAGES, vec![message("f", 3)]).await }),
        ),
        ("transact", Box::pin(async { store.transact(tx).await })),
        (
            "ensure_tables",
            Box::pin(async { store.ensure_tables(&specs()).await }),
        ),
    ];
    for (name, call) in calls {
        let started = Instant::now();
        let err = call.await.expect_err(name);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{name}: {err}");
        assert!(
            started.elapsed() <= OP_TIMEOUT + SLACK,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_unavailable_within_timeout() {
    let url = format!("dynamodb://127.0.0.1:{}", free_port());
    let store = chatflow_kv::connect(&url, fault_options()).await.unwrap();
    assert_every_call_unavailable(&store).await;
}

#[tokio::test]
async fn invalid_requests_fail_before_any_call() {
    // Nothing listens here, so only a check made before the call can answer.
    let url = format!("dynamodb://127.0.0.1:{}", free_port());
    let store = chatflow_kv::connect(&url, fault_options()).await.unwrap();
    let started = Instant::now();
    let big = Item::new("p", "s", vec![0u8; MAX_ITEM_BYTES]);
    let err = store.put(MESSAGES, big, Condition::None).await.unwrap_err();
    assert!(matches!(err, KvError::ItemTooLarge { .. }), "{err}");
    let forged = Query::new("p").after(Some(Cursor::from_string("Zm9yZ2Vk")));
    let err = store.query(MESSAGES, forged).await.unwrap_err();
    assert!(matches!(err, KvError::InvalidCursor(_)), "{err}");
    let err = store.get(MESSAGES, "", "s").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn bad_urls_and_options_are_invalid_config() {
    for url in [
        "dynamodb://127.0.0.1",
        "dynamo://x:1",
        "dynamodb://h:1/path",
    ] {
        let err = chatflow_kv::connect(url, fault_options())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{url}: {err}");
    }
    let half = KvOptions {
        secret_access_key: None,
        ..fault_options()
    };
    assert!(
        chatflow_kv::connect("dynamodb://127.0.0.1:1", half)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_emulator_is_unavailable_then_the_same_client_recovers() {
    let mut emulator = emulator::start().await;
    let store = chatflow_kv::connect(&emulator::url(&emulator), fault_options())
        .await
        .unwrap();
    store.ensure_tables(&specs()).await.unwrap();
    let item = message("f", 1);
    store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    assert!(
        store
            .get(MESSAGES, &item.pk, &item.sk)
            .await
            .unwrap()
            .is_some()
    );

    emulator.kill().await;
    assert_every_call_unavailable(&store).await;

    emulator.restart().await;
    // In-memory data went with the old process: tables come back empty.
    store.ensure_tables(&specs()).await.unwrap();
    assert!(
        store
            .get(MESSAGES, &item.pk, &item.sk)
            .await
            .unwrap()
            .is_none()
    );
    store
        .put(MESSAGES, item.clone(), Condition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(
        store
            .get(MESSAGES, &item.pk, &item.sk)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        store.increment(COUNTERS, "p", "s", "n", 2).await.unwrap(),
        2
    );
    emulator.kill().await;
}
