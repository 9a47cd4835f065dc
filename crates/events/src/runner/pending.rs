//! Finished records whose offsets are not committed yet.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::{COMMIT_FAILURES, LABEL_TOPIC};
use crate::{Delivery, Subscription};

/// Finished records after which their offsets are committed.
pub(super) const COMMIT_EVERY: usize = 256;

/// Longest a finished record stays uncommitted while the consumer is busy or idle.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// The furthest finished record per partition, since the last commit.
#[derive(Default)]
pub(super) struct Pending {
    latest: HashMap<(String, u32), Delivery>,
    count: usize,
    since: Option<Instant>,
}

impl Pending {
    /// Notes a finished record (records of one partition arrive in order);
    /// returns how many are waiting for a commit.
    pub(super) fn finished(&mut self, delivery: Delivery) -> usize {
        self.since.get_or_insert_with(Instant::now);
        self.count += 1;
        self.latest
            .insert((delivery.topic.clone(), delivery.partition), delivery);
        self.count
    }

    /// When the waiting records must be committed, if any wait.
    pub(super) fn due(&self) -> Option<Instant> {
        self.since.map(|since| since + COMMIT_INTERVAL)
    }

    /// Commits the furthest finished record of every partition; a failure
    /// only means those records will be delivered again.
    pub(super) async fn flush(&mut self, sub: &mut dyn Subscription) {
        for (_, delivery) in self.latest.drain() {
            if let Err(err) = sub.commit(&delivery).await {
                metrics::counter!(COMMIT_FAILURES, LABEL_TOPIC => delivery.topic.clone())
                    .increment(1);
                tracing::warn!(error = %err, "offset commit failed; the records will be redelivered");
            }
        }
        self.count = 0;
        self.since = None;
    }
}

/// Sleeps until `due`; never wakes without one (its branch is disabled then).
pub(super) async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}
