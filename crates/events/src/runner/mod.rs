//! The consumer loop every service uses: handle, retry, dead-letter, commit.
//!
//! A record is committed only once it is finished: handled, or safely copied
//! to `<topic>.dlq`. Anything else (a crash, a shutdown during a retry wait)
//! leaves it uncommitted, so it comes back: at-least-once, never lost.
//!
//! Commits are deferred and coalesced ([`Pending`]): the furthest finished
//! record per partition is committed every [`COMMIT_EVERY`] records, after
//! [`COMMIT_INTERVAL`], and at shutdown, instead of one durable write per
//! record that the consumer would wait on before taking the next one. A crash
//! redelivers at most what finished since the last commit, which idempotent
//! handlers absorb.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use chatflow_errors::HasKind;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::{
    COMMIT_FAILURES, HANDLER_RETRIES, LABEL_OUTCOME, LABEL_TOPIC, RECORDS_DEAD_LETTERED,
    RECORDS_HANDLED,
};
use crate::{BusError, Delivery, EventBusRef, OutgoingRecord, Subscription, dead_letter_topic};

/// Partitions of a dead-letter topic the runner creates (low volume, one is plenty).
const DEAD_LETTER_PARTITIONS: u32 = 1;

/// Finished records after which their offsets are committed.
const COMMIT_EVERY: usize = 256;

/// Longest a finished record stays uncommitted while the consumer is busy or idle.
const COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// Business logic for one record. Must be idempotent: records can come twice.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Processes one delivery.
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError>;
}

/// How a handler failed, which decides what the runner does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Retrying cannot help (malformed payload, unknown type): dead-letter now.
    #[error("permanent handler failure: {0}")]
    Permanent(String),
    /// A dependency hiccup: retry with backoff, dead-letter after the last attempt.
    #[error("transient handler failure: {0}")]
    Transient(String),
}

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total handler attempts per record, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles for each further one.
    pub initial_backoff: Duration,
    /// Upper bound of one wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): exponential, capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Runs `handler` on every record of `sub` until `shutdown` is cancelled.
///
/// `HandlerError::Permanent` sends the record to `<topic>.dlq` (same key,
/// payload and headers, plus `x-dlq-reason`, `x-dlq-source-topic`,
/// `x-dlq-source-partition`, `x-dlq-source-offset`) and commits it;
/// `HandlerError::Transient` retries with exponential backoff up to
/// `policy.max_attempts`, then dead-letters. Each handler call runs in a span
/// whose parent is the trace context found in the record headers. On
/// shutdown the current record is finished and committed, then the
/// subscription is closed. Returns an error only for failures retrying cannot
/// fix (the subscription is closed first).
pub async fn run_consumer<H: Handler>(
    mut sub: Box<dyn Subscription>,
    bus: EventBusRef,
    handler: H,
    policy: RetryPolicy,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let mut runner = Runner {
        bus,
        handler,
        policy,
        shutdown,
        dead_letter_topics: HashSet::new(),
    };
    let mut pending = Pending::default();
    let result = runner.run(sub.as_mut(), &mut pending).await;
    pending.flush(sub.as_mut()).await;
    let closed = sub.close().await;
    result.and(closed)
}

/// What became of one record.
enum Outcome {
    /// Handled or dead-lettered: commit it.
    Finished,
    /// Shutdown arrived while waiting to retry: leave it uncommitted.
    Interrupted,
}

struct Runner<H> {
    bus: EventBusRef,
    handler: H,
    policy: RetryPolicy,
    shutdown: CancellationToken,
    /// Dead-letter topics already ensured by this runner.
    dead_letter_topics: HashSet<String>,
}

impl<H: Handler> Runner<H> {
    async fn run(
        &mut self,
        sub: &mut dyn Subscription,
        pending: &mut Pending,
    ) -> Result<(), BusError> {
        let mut failures = 0;
        loop {
            let due = pending.due();
            let next = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep_until(due.unwrap_or_else(far_future)), if due.is_some() => {
                    pending.flush(sub).await;
                    continue;
                }
                // Cancel-safe: a record is never lost by losing this race.
                next = sub.next() => next,
            };
            let delivery = match next {
                Ok(delivery) => delivery,
                Err(err) if err.kind().is_retriable() => {
                    failures += 1;
                    tracing::warn!(error = %err, failures, "event consumer cannot fetch; retrying");
                    if self.pause(self.policy.backoff(failures)).await {
                        return Ok(());
                    }
                    continue;
                }
                Err(err) => return Err(err),
            };
            failures = 0;
            let span = tracing::info_span!(
                "event.consume",
                topic = %delivery.topic,
                partition = delivery.partition,
                offset = delivery.offset,
            );
            // Err only means no OpenTelemetry layer is installed: nothing to link.
            let _ = span.set_parent(crate::extract_trace_context(&delivery.headers));
            match self.process(&delivery).instrument(span).await? {
                Outcome::Finished => {
                    if pending.finished(delivery) >= COMMIT_EVERY {
                        pending.flush(sub).await;
                    }
                }
                Outcome::Interrupted => return Ok(()),
            }
        }
    }

    /// Calls the handler until it succeeds, fails for good, or attempts run out.
    async fn process(&mut self, delivery: &Delivery) -> Result<Outcome, BusError> {
        let topic = delivery.topic.clone();
        let max_attempts = self.policy.max_attempts.max(1);
        let mut attempt = 0;
        let reason = loop {
            attempt += 1;
            match self.handler.handle(delivery).await {
                Ok(()) => {
                    metrics::counter!(RECORDS_HANDLED, LABEL_TOPIC => topic, LABEL_OUTCOME => "ok")
                        .increment(1);
                    return Ok(Outcome::Finished);
                }
                Err(HandlerError::Permanent(reason)) => break reason,
                Err(HandlerError::Transient(reason)) if attempt >= max_attempts => {
                    break format!("gave up after {attempt} attempts: {reason}");
                }
                Err(HandlerError::Transient(reason)) => {
                    metrics::counter!(HANDLER_RETRIES, LABEL_TOPIC => topic.clone()).increment(1);
                    tracing::warn!(attempt, %reason, "event handler failed; will retry");
                    if self.pause(self.policy.backoff(attempt)).await {
                        return Ok(Outcome::Interrupted);
                    }
                }
            }
        };
        self.dead_letter(delivery, &reason).await
    }

    /// Copies the record to `<topic>.dlq`, retrying the bus until it succeeds.
    async fn dead_letter(
        &mut self,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<Outcome, BusError> {
        let topic = dead_letter_topic(&delivery.topic);
        tracing::warn!(dead_letter_topic = %topic, %reason, "dead-lettering event");
        let mut headers: Vec<_> = delivery
            .headers
            .iter()
            .filter(|(name, _)| !name.starts_with("x-dlq-"))
            .cloned()
            .collect();
        headers.extend([
            ("x-dlq-reason".to_owned(), reason.as_bytes().to_vec()),
            (
                "x-dlq-source-topic".to_owned(),
                delivery.topic.clone().into_bytes(),
            ),
            (
                "x-dlq-source-partition".to_owned(),
                delivery.partition.to_string().into_bytes(),
            ),
            (
                "x-dlq-source-offset".to_owned(),
                delivery.offset.to_string().into_bytes(),
            ),
        ]);
        let record = OutgoingRecord {
            topic: topic.clone(),
            key: delivery.key.clone(),
            payload: delivery.payload.clone(),
            headers,
        };
        for attempt in 1.. {
            let result = if self.dead_letter_topics.contains(&topic) {
                Ok(())
            } else {
                self.bus.ensure_topic(&topic, DEAD_LETTER_PARTITIONS).await
            };
            let result = match result {
                Ok(()) => {
                    self.dead_letter_topics.insert(topic.clone());
                    self.bus.publish(record.clone()).await.map(|_| ())
                }
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => break,
                Err(err) if err.kind().is_retriable() => {
                    tracing::warn!(error = %err, attempt, "dead-letter publish failed; retrying");
                    if self.pause(self.policy.backoff(attempt)).await {
                        return Ok(Outcome::Interrupted);
                    }
                }
                Err(err) => return Err(err),
            }
        }
        let source = delivery.topic.clone();
        metrics::counter!(RECORDS_DEAD_LETTERED, LABEL_TOPIC => source.clone()).increment(1);
        metrics::counter!(RECORDS_HANDLED, LABEL_TOPIC => source, LABEL_OUTCOME => "dead_lettered")
            .increment(1);
        Ok(Outcome::Finished)
    }

    /// Sleeps unless shutdown comes first; true means "stop now".
    async fn pause(&self, wait: Duration) -> bool {
        tokio::select! {
            () = self.shutdown.cancelled() => true,
            () = tokio::time::sleep(wait) => false,
        }
    }
}

/// Finished records not committed yet: the furthest one per partition.
#[derive(Default)]
struct Pending {
    latest: HashMap<(String, u32), Delivery>,
    count: usize,
    since: Option<Instant>,
}

impl Pending {
    /// Notes a finished record; returns how many are waiting for a commit.
    fn finished(&mut self, delivery: Delivery) -> usize {
        self.since.get_or_insert_with(Instant::now);
        self.count += 1;
        self.latest
            .insert((delivery.topic.clone(), delivery.partition), delivery);
        self.count
    }

    /// When the waiting records must be committed, if any wait.
    fn due(&self) -> Option<Instant> {
        self.since.map(|since| since + COMMIT_INTERVAL)
    }

    /// Commits the furthest finished record of every partition; a failure
    /// only means those records will be delivered again.
    async fn flush(&mut self, sub: &mut dyn Subscription) {
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

/// A deadline that never comes (the branch using it is disabled anyway).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (1..=6).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
    }
}
