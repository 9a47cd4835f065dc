//! Kafka-only behaviour that needs no broker: an unreachable cluster fails in time.

use std::time::{Duration, Instant};

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_events::{BusError, BusOptions, connect};

use crate::support::record;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_is_unavailable_within_the_timeout() {
    let timeout = Duration::from_secs(2);
    let options = BusOptions {
        topic_prefix: None,
        request_timeout: timeout,
    };
    // Connecting is lazy; every request must then fail in time, not hang.
    let bus = connect("kafka://127.0.0.1:1", options).await.unwrap();
    let bound = timeout + Duration::from_millis(500);

    async fn check<T>(
        what: &str,
        bound: Duration,
        call: impl Future<Output = Result<T, BusError>>,
    ) {
        let started = Instant::now();
        let err = call
            .await
            .err()
            .unwrap_or_else(|| panic!("{what} succeeded"));
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{what}: {err}");
        assert!(
            started.elapsed() <= bound,
            "{what} took {:?}",
            started.elapsed()
        );
    }
    check("ping", bound, bus.ping()).await;
    check("ensure_topic", bound, bus.ensure_topic("t", 1)).await;
    check("publish", bound, bus.publish(record("t", "k", "v"))).await;
    check("subscribe", bound, async {
        bus.subscribe("g", &["t".into()]).await.map(|_| ())
    })
    .await;
    check("tail", bound, async {
        bus.tail(&["t".into()]).await.map(|_| ())
    })
    .await;
}
