//! DynamoDB-only: the retry policy, against a scripted endpoint.

use std::time::Duration;

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_kv::{Condition, Item, KvError, KvOptions, KvStoreRef};

use crate::fake_dynamo::{FakeDynamo, error, ok};
use crate::{MESSAGES, message};

async fn store(fake: &FakeDynamo, max_retries: u32) -> KvStoreRef {
    let options = KvOptions {
        table_prefix: "retry_".into(),
        op_timeout: Duration::from_secs(10),
        max_retries,
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        ..KvOptions::default()
    };
    chatflow_kv::connect(&fake.url, options).await.unwrap()
}

#[tokio::test]
async fn throttled_requests_are_retried_until_they_succeed() {
    let fake = FakeDynamo::start(vec![
        error(400, "ThrottlingException"),
        error(400, "ProvisionedThroughputExceededException"),
        error(400, "RequestLimitExceeded"),
        ok("{}"),
    ])
    .await;
    let store = store(&fake, 5).await;
    // Throttling is retried even for a conditional write: the request was refused.
    let version = store
        .put(MESSAGES, message("r", 1), Condition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(version, 1);
    let seen = fake.seen();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter()
            .all(|s| s.operation == "DynamoDB_20120810.PutItem")
    );
}

#[tokio::test]
async fn throttling_past_max_retries_is_resource_exhausted() {
    let fake = FakeDynamo::start(vec![error(400, "ThrottlingException"); 10]).await;
    let store = store(&fake, 2).await;
    let err = store.get(MESSAGES, "p", "s").await.unwrap_err();
    assert!(matches!(err, KvError::Throttled(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    assert_eq!(fake.seen().len(), 3, "one try plus two retries");
}

#[tokio::test]
async fn unprocessed_batch_items_are_sent_again() {
    let unprocessed = r#"{"UnprocessedItems":{"retry_messages":[{"PutRequest":{"Item":
        {"pk":{"S":"conv#r"},"sk":{"S":"msg#0000000007"},"v":{"N":"0"}}}}]}}"#;
    let fake = FakeDynamo::start(vec![ok(unprocessed), ok(r#"{"UnprocessedItems":{}}"#)]).await;
    let store = store(&fake, 3).await;
    let items: Vec<Item> = (0..10).map(|seq| message("r", seq)).collect();
    store.batch_put(MESSAGES, items).await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].body.contains("msg#0000000009"));
    assert!(seen[1].body.contains("msg#0000000007"));
    assert!(
        !seen[1].body.contains("msg#0000000009"),
        "only the unprocessed item is re-sent"
    );
}

#[tokio::test]
async fn unprocessed_items_past_max_retries_fail() {
    let unprocessed = r#"{"UnprocessedItems":{"retry_messages":[{"PutRequest":{"Item":
        {"pk":{"S":"conv#r"},"sk":{"S":"msg#0000000001"},"v":{"N":"0"}}}}]}}"#;
    let fake = FakeDynamo::start(vec![ok(unprocessed); 5]).await;
    let store = store(&fake, 1).await;
    let err = store
        .batch_put(MESSAGES, vec![message("r", 1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted, "{err}");
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_only_when_repeating_is_safe() {
    let fake = FakeDynamo::start(vec![error(500, "InternalServerError"), ok("{}")]).await;
    let store = store(&fake, 3).await;
    assert!(store.get(MESSAGES, "p", "s").await.unwrap().is_none());
    assert_eq!(fake.seen().len(), 2, "a read is retried");

    let fake = FakeDynamo::start(vec![error(500, "InternalServerError"), ok("{}")]).await;
    let store = self::store(&fake, 3).await;
    let err = store
        .increment(MESSAGES, "p", "s", "n", 1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(
        fake.seen().len(),
        1,
        "an increment may have been applied: not repeated"
    );
}
