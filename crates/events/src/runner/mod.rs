//! The consumer loop every service uses: handle, retry, dead-letter, commit.
//!
//! A record is committed only once it is finished: handled, or safely copied
//! to `<topic>.dlq`. Anything else (a crash, a shutdown during a retry wait)
//! leaves it uncommitted, so it comes back: at-least-once, never lost.
//!
//! Partitions are handled concurrently, each in order by its own worker
//! ([`worker`]): one slow record (a retry, a slow store) holds back its own
//! partition first (others go on until its queue fills), and the store sees the partitions' writes together, which its
//! group commit turns into fewer syncs. Order holds where the bus promises
//! it: within a partition.
//!
//! Commits are deferred and coalesced ([`pending`]): the furthest finished
//! record per partition is committed every `COMMIT_EVERY` records, after
//! `COMMIT_INTERVAL`, and at shutdown, instead of one durable write per
//! record that the consumer would wait on before taking the next one. A crash
//! redelivers at most what finished since the last commit, which idempotent
//! handlers absorb.

mod pending;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatflow_errors::HasKind;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::pending::{COMMIT_EVERY, Pending};
use self::worker::{Report, Worker};
use crate::{BusError, Delivery, EventBusRef, Subscription};

/// Records queued per partition worker before reading pauses (back-pressure).
const PARTITION_QUEUE: usize = 256;

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
/// whose parent is the trace context found in the record headers. Records of
/// different partitions are handled concurrently, those of one partition in
/// order. On shutdown each partition finishes the record it is on, finished
/// records are committed, then the subscription is closed. Returns an error
/// only for failures retrying cannot fix (the subscription is closed first).
pub async fn run_consumer<H: Handler>(
    mut sub: Box<dyn Subscription>,
    bus: EventBusRef,
    handler: H,
    policy: RetryPolicy,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let worker = Arc::new(Worker::new(bus, handler, policy.clone(), shutdown.clone()));
    let mut dispatcher = Dispatcher::new(worker);
    let result = dispatcher.run(sub.as_mut(), &policy, &shutdown).await;
    let finished = dispatcher.finish(sub.as_mut()).await;
    let closed = sub.close().await;
    result.and(finished).and(closed)
}

/// Reads the subscription and hands each record to its partition's worker.
struct Dispatcher<H> {
    worker: Arc<Worker<H>>,
    partitions: HashMap<(String, u32), mpsc::Sender<Delivery>>,
    tasks: JoinSet<()>,
    reports: mpsc::UnboundedReceiver<Report>,
    report_to: mpsc::UnboundedSender<Report>,
    pending: Pending,
}

impl<H: Handler> Dispatcher<H> {
    fn new(worker: Arc<Worker<H>>) -> Self {
        let (report_to, reports) = mpsc::unbounded_channel();
        Self {
            worker,
            partitions: HashMap::new(),
            tasks: JoinSet::new(),
            reports,
            report_to,
            pending: Pending::default(),
        }
    }

    async fn run(
        &mut self,
        sub: &mut dyn Subscription,
        policy: &RetryPolicy,
        shutdown: &CancellationToken,
    ) -> Result<(), BusError> {
        let mut failures = 0;
        loop {
            let due = self.pending.due();
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                Some(report) = self.reports.recv() => {
                    self.take(sub, report).await?;
                    continue;
                }
                () = pending::sleep_until(due), if due.is_some() => {
                    self.pending.flush(sub).await;
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
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(policy.backoff(failures)) => continue,
                    }
                }
                Err(err) => return Err(err),
            };
            failures = 0;
            self.dispatch(delivery, shutdown).await;
        }
    }

    /// Queues a record for its partition's worker, starting one if needed.
    async fn dispatch(&mut self, delivery: Delivery, shutdown: &CancellationToken) {
        let key = (delivery.topic.clone(), delivery.partition);
        let queue = self.partitions.entry(key).or_insert_with(|| {
            let (queue, records) = mpsc::channel(PARTITION_QUEUE);
            let worker = self.worker.clone();
            self.tasks
                .spawn(worker.run(records, self.report_to.clone()));
            queue
        });
        // A full queue waits (back-pressure); shutdown stops the wait.
        tokio::select! {
            () = shutdown.cancelled() => {}
            sent = queue.send(delivery) => {
                if sent.is_err() {
                    tracing::debug!("a partition worker stopped early");
                }
            }
        }
    }

    /// Records a worker's report; a fatal one ends the run.
    async fn take(&mut self, sub: &mut dyn Subscription, report: Report) -> Result<(), BusError> {
        match report {
            Report::Finished(delivery) => {
                if self.pending.finished(delivery) >= COMMIT_EVERY {
                    self.pending.flush(sub).await;
                }
                Ok(())
            }
            Report::Fatal(err) => Err(err),
        }
    }

    /// Lets every worker finish the record it is on, then commits what finished.
    async fn finish(&mut self, sub: &mut dyn Subscription) -> Result<(), BusError> {
        self.partitions.clear();
        self.worker.stop();
        while self.tasks.join_next().await.is_some() {}
        let mut fatal = Ok(());
        while let Ok(report) = self.reports.try_recv() {
            if let Err(err) = self.take(sub, report).await {
                fatal = Err(err);
            }
        }
        self.pending.flush(sub).await;
        fatal
    }
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
