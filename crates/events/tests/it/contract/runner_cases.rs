//! Contract cases for `run_consumer`: dead letters, retries, commits on shutdown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chatflow_events::{
    Delivery, EventBusRef, Handler, HandlerError, RetryPolicy, Subscription, run_consumer,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::{Env, record, text};

/// Fails as the payload says: `bad` permanently, `flaky-N` transiently N
/// times, `flaky-forever` always; reports every success on a channel.
struct ScriptedHandler {
    attempts: Mutex<HashMap<String, u32>>,
    done: mpsc::UnboundedSender<(String, u32)>,
}

#[async_trait]
impl Handler for ScriptedHandler {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let payload = text(delivery);
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(payload.clone()).or_default();
            *n += 1;
            *n
        };
        if payload == "bad" {
            return Err(HandlerError::Permanent("cannot parse".into()));
        }
        if payload == "flaky-forever" {
            return Err(HandlerError::Transient("dependency down".into()));
        }
        if let Some(failures) = payload.strip_prefix("flaky-")
            && attempt <= failures.parse().unwrap()
        {
            return Err(HandlerError::Transient("try again".into()));
        }
        let _ = self.done.send((payload, attempt));
        Ok(())
    }
}

fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

/// Starts `run_consumer` on group `workers` of `topic`.
async fn start(
    bus: &EventBusRef,
    topic: &str,
) -> (
    tokio::task::JoinHandle<Result<(), chatflow_events::BusError>>,
    CancellationToken,
    mpsc::UnboundedReceiver<(String, u32)>,
) {
    let (done, reports) = mpsc::unbounded_channel();
    let handler = ScriptedHandler {
        attempts: Mutex::default(),
        done,
    };
    let sub = bus.subscribe("workers", &[topic.to_owned()]).await.unwrap();
    let shutdown = CancellationToken::new();
    let runner = tokio::spawn(run_consumer(
        sub,
        bus.clone(),
        handler,
        quick_policy(),
        shutdown.clone(),
    ));
    (runner, shutdown, reports)
}

/// Receives one success report, within the env's patience.
async fn report(env: &Env, reports: &mut mpsc::UnboundedReceiver<(String, u32)>) -> (String, u32) {
    tokio::time::timeout(env.patience, reports.recv())
        .await
        .expect("handler never succeeded")
        .unwrap()
}

/// Publishes a marker and checks it is the first thing `group` sees: all
/// earlier records of `topic` were committed (or none existed).
async fn assert_all_committed(env: &Env, bus: &EventBusRef, group: &str, topic: &str) {
    bus.publish(record(topic, "a", "marker")).await.unwrap();
    let mut sub: Box<dyn Subscription> = bus.subscribe(group, &[topic.to_owned()]).await.unwrap();
    let first = env.next(&mut sub).await;
    assert_eq!(
        text(&first),
        "marker",
        "uncommitted record came back: {first:?}"
    );
    sub.close().await.unwrap();
}

pub async fn failures_are_dead_lettered_and_committed(env: &Env) {
    let bus = env.bus().await;
    bus.ensure_topic("jobs", 2).await.unwrap();
    bus.ensure_topic("jobs.dlq", 1).await.unwrap();
    // One key, so one partition and a fixed order.
    bus.publish(record("jobs", "a", "ok-1")).await.unwrap();
    let bad = record("jobs", "a", "bad").with_header("x-origin", b"test".to_vec());
    let (bad_partition, bad_offset) = bus.publish(bad).await.unwrap();
    bus.publish(record("jobs", "a", "flaky-forever"))
        .await
        .unwrap();
    bus.publish(record("jobs", "a", "ok-2")).await.unwrap();

    let (runner, shutdown, mut reports) = start(&bus, "jobs").await;
    assert_eq!(report(env, &mut reports).await, ("ok-1".into(), 1));
    assert_eq!(report(env, &mut reports).await, ("ok-2".into(), 1));

    let mut dlq = bus
        .subscribe("dlq-reader", &["jobs.dlq".into()])
        .await
        .unwrap();
    let dead = env.next(&mut dlq).await;
    assert_eq!(text(&dead), "bad");
    assert_eq!(dead.key, b"a");
    assert_eq!(
        dead.header("x-origin"),
        Some(&b"test"[..]),
        "original headers kept"
    );
    assert_eq!(dead.header("x-dlq-reason"), Some(&b"cannot parse"[..]));
    assert_eq!(dead.header("x-dlq-source-topic"), Some(&b"jobs"[..]));
    let partition = bad_partition.to_string();
    assert_eq!(
        dead.header("x-dlq-source-partition"),
        Some(partition.as_bytes())
    );
    let offset = bad_offset.to_string();
    assert_eq!(dead.header("x-dlq-source-offset"), Some(offset.as_bytes()));

    let exhausted = env.next(&mut dlq).await;
    assert_eq!(text(&exhausted), "flaky-forever");
    let reason = String::from_utf8_lossy(exhausted.header("x-dlq-reason").unwrap()).into_owned();
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    dlq.close().await.unwrap();

    shutdown.cancel();
    runner.await.unwrap().unwrap();
    assert_all_committed(env, &bus, "workers", "jobs").await;
}

pub async fn transient_failure_is_retried_then_succeeds(env: &Env) {
    let bus = env.bus().await;
    bus.ensure_topic("flaky", 2).await.unwrap();
    bus.ensure_topic("flaky.dlq", 1).await.unwrap();
    bus.publish(record("flaky", "a", "flaky-2")).await.unwrap();

    let (runner, shutdown, mut reports) = start(&bus, "flaky").await;
    assert_eq!(report(env, &mut reports).await, ("flaky-2".into(), 3));
    shutdown.cancel();
    runner.await.unwrap().unwrap();

    assert_all_committed(env, &bus, "workers", "flaky").await;
    // Nothing was dead-lettered: a marker is the first record of the DLQ.
    assert_all_committed(env, &bus, "dlq-reader", "flaky.dlq").await;
}

/// Holds records whose payload starts with `hold` until released; reports
/// every record it finishes.
struct HoldingHandler {
    release: tokio::sync::Semaphore,
    done: mpsc::UnboundedSender<String>,
}

#[async_trait]
impl Handler for HoldingHandler {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let payload = text(delivery);
        if payload.starts_with("hold") {
            let permit = self.release.acquire().await.unwrap();
            permit.forget();
        }
        let _ = self.done.send(payload);
        Ok(())
    }
}

pub async fn a_held_partition_does_not_hold_back_the_others(env: &Env) {
    let bus = env.bus().await;
    bus.ensure_topic("lanes", 8).await.unwrap();
    // Two keys on different partitions.
    let slow = "key-0";
    let fast = (1..)
        .map(|i| format!("key-{i}"))
        .find(|k| {
            chatflow_events::partition_for_key(k.as_bytes(), 8)
                != chatflow_events::partition_for_key(slow.as_bytes(), 8)
        })
        .unwrap();
    bus.publish(record("lanes", slow, "hold-1")).await.unwrap();
    bus.publish(record("lanes", slow, "after-hold"))
        .await
        .unwrap();
    for n in 0..5 {
        bus.publish(record("lanes", &fast, &format!("fast-{n}")))
            .await
            .unwrap();
    }
    let (done, mut reports) = mpsc::unbounded_channel();
    let handler = std::sync::Arc::new(HoldingHandler {
        release: tokio::sync::Semaphore::new(0),
        done,
    });
    let sub = bus
        .subscribe("lanes-workers", &["lanes".to_owned()])
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let runner = tokio::spawn(run_consumer(
        sub,
        bus.clone(),
        SharedHandler(handler.clone()),
        quick_policy(),
        shutdown.clone(),
    ));
    // The other partition's records all finish while the first one is held.
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let next = tokio::time::timeout(env.patience, reports.recv()).await;
        seen.push(next.expect("the free partition made progress").unwrap());
    }
    assert_eq!(
        seen,
        (0..5).map(|n| format!("fast-{n}")).collect::<Vec<_>>()
    );
    // Released, the held partition goes on in its own order.
    handler.release.add_permits(1);
    for expected in ["hold-1", "after-hold"] {
        let next = tokio::time::timeout(env.patience, reports.recv()).await;
        assert_eq!(next.unwrap().unwrap(), expected);
    }
    shutdown.cancel();
    runner.await.unwrap().unwrap();
    assert_all_committed(env, &bus, "lanes-workers", "lanes").await;
}

/// A handler shared with the test through an `Arc`.
struct SharedHandler<H>(std::sync::Arc<H>);

#[async_trait]
impl<H: Handler> Handler for SharedHandler<H> {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        self.0.handle(delivery).await
    }
}
