//! Test helpers: one `Env` per backend, and waits that never sleep blindly.

use std::collections::BTreeSet;
use std::time::Duration;

use chatflow_events::{BusOptions, Delivery, EventBusRef, OutgoingRecord, Subscription, connect};
use tempfile::TempDir;

/// A backend under test, with a prefix private to this test.
pub struct Env {
    /// URL handed to `connect`.
    pub url: String,
    /// Expected `EventBus::backend()`.
    pub backend: &'static str,
    /// How long to wait for a record or an assignment (group joins on nisshi take seconds).
    pub patience: Duration,
    /// How long "nothing more arrives" is watched for.
    pub quiet: Duration,
    prefix: String,
    _dir: Option<TempDir>,
}

impl Env {
    pub fn memory() -> Self {
        Self::new("memory://".into(), "embedded-memory", None, 10, 200)
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bus.db").display());
        Self::new(url, "embedded-sqlite", Some(dir), 10, 200)
    }

    #[cfg(feature = "kafka")]
    pub fn kafka() -> Self {
        let url = std::env::var("CHATFLOW_TEST_KAFKA_URL")
            .unwrap_or_else(|_| "kafka://127.0.0.1:9092".into());
        Self::new(url, "kafka", None, 60, 1500)
    }

    fn new(
        url: String,
        backend: &'static str,
        dir: Option<TempDir>,
        patience: u64,
        quiet: u64,
    ) -> Self {
        // `RUST_LOG=chatflow_events=debug` shows the bus's own logs when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        Self {
            url,
            backend,
            patience: Duration::from_secs(patience),
            quiet: Duration::from_millis(quiet),
            prefix: format!("t{}.", uuid::Uuid::new_v4().simple()),
            _dir: dir,
        }
    }

    /// A bus on this backend, isolated by the test's prefix.
    pub async fn bus(&self) -> EventBusRef {
        let options = BusOptions {
            topic_prefix: Some(self.prefix.clone()),
            request_timeout: Duration::from_secs(10),
        };
        connect(&self.url, options).await.unwrap()
    }

    /// Next record, failing the test after `patience`.
    pub async fn next(&self, sub: &mut Box<dyn Subscription>) -> Delivery {
        tokio::time::timeout(self.patience, sub.next())
            .await
            .expect("timed out waiting for a record")
            .expect("next failed")
    }

    /// Fails if a record arrives within `quiet`.
    pub async fn nothing_more(&self, sub: &mut Box<dyn Subscription>) {
        if let Ok(extra) = tokio::time::timeout(self.quiet, sub.next()).await {
            panic!("unexpected extra record: {extra:?}");
        }
    }
}

/// A record of `topic` with a text key and payload.
pub fn record(topic: &str, key: &str, payload: &str) -> OutgoingRecord {
    OutgoingRecord::new(topic, key.as_bytes().to_vec(), payload.as_bytes().to_vec())
}

/// The payload as text.
pub fn text(d: &Delivery) -> String {
    String::from_utf8_lossy(&d.payload).into_owned()
}

/// Partitions named in an assignment.
pub fn partitions(assignment: &[(String, u32)]) -> BTreeSet<u32> {
    assignment.iter().map(|(_, p)| *p).collect()
}
