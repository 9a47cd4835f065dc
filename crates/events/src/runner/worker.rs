//! One partition's worker: handles its records in order, retrying and
//! dead-lettering as the policy says, and reports each finished record.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chatflow_errors::HasKind;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{Handler, HandlerError, RetryPolicy};
use crate::metrics::{
    HANDLER_RETRIES, LABEL_OUTCOME, LABEL_TOPIC, RECORDS_DEAD_LETTERED, RECORDS_HANDLED,
};
use crate::{BusError, Delivery, EventBusRef, OutgoingRecord, dead_letter_topic};

/// Partitions of a dead-letter topic the runner creates (low volume, one is plenty).
const DEAD_LETTER_PARTITIONS: u32 = 1;

/// What a worker tells the dispatcher.
pub(super) enum Report {
    /// Handled or dead-lettered: commit it.
    Finished(Delivery),
    /// A failure retrying cannot fix: the consumer stops.
    Fatal(BusError),
}

/// What became of one record.
enum Outcome {
    /// Handled or dead-lettered: commit it.
    Finished,
    /// Shutdown arrived while waiting to retry: leave it uncommitted.
    Interrupted,
}

/// What every partition worker of one consumer shares.
pub(super) struct Worker<H> {
    bus: EventBusRef,
    handler: H,
    policy: RetryPolicy,
    /// Cancelled at shutdown, or when the consumer stops for another reason.
    stop: CancellationToken,
    /// Dead-letter topics already ensured by this consumer.
    dead_letter_topics: Mutex<HashSet<String>>,
}

impl<H: Handler> Worker<H> {
    pub(super) fn new(
        bus: EventBusRef,
        handler: H,
        policy: RetryPolicy,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            bus,
            handler,
            policy,
            stop: shutdown.child_token(),
            dead_letter_topics: Mutex::default(),
        }
    }

    /// Asks every worker to stop after the record it is on.
    pub(super) fn stop(&self) {
        self.stop.cancel();
    }

    /// Handles one partition's records in order until its queue closes or
    /// the consumer stops.
    pub(super) async fn run(
        self: Arc<Self>,
        mut records: mpsc::Receiver<Delivery>,
        reports: mpsc::UnboundedSender<Report>,
    ) {
        while let Some(delivery) = records.recv().await {
            if self.stop.is_cancelled() {
                return;
            }
            let span = tracing::info_span!(
                "event.consume",
                topic = %delivery.topic,
                partition = delivery.partition,
                offset = delivery.offset,
            );
            // Err only means no OpenTelemetry layer is installed: nothing to link.
            let _ = span.set_parent(crate::extract_trace_context(&delivery.headers));
            let report = match self.process(&delivery).instrument(span).await {
                Ok(Outcome::Finished) => Report::Finished(delivery),
                Ok(Outcome::Interrupted) => return,
                Err(err) => Report::Fatal(err),
            };
            let fatal = matches!(report, Report::Fatal(_));
            if reports.send(report).is_err() || fatal {
                return;
            }
        }
    }

    /// Calls the handler until it succeeds, fails for good, or attempts run out.
    async fn process(&self, delivery: &Delivery) -> Result<Outcome, BusError> {
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
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<Outcome, BusError> {
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
            let result = if self.dead_letter_topics.lock().contains(&topic) {
                Ok(())
            } else {
                self.bus.ensure_topic(&topic, DEAD_LETTER_PARTITIONS).await
            };
            let result = match result {
                Ok(()) => {
                    self.dead_letter_topics.lock().insert(topic.clone());
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
            () = self.stop.cancelled() => true,
            () = tokio::time::sleep(wait) => false,
        }
    }
}
