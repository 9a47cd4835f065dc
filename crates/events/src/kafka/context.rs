//! rdkafka client contexts and the mapping of librdkafka errors to [`BusError`].
//!
//! [`TracingContext`] routes librdkafka's logs into `tracing`;
//! [`RebalanceContext`] also turns rebalance callbacks into the assignment
//! `watch` and a generation counter that lets a subscription recognise
//! records fetched before a rebalance.

use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio::sync::watch;

use super::departures::TicketSlot;
use crate::BusError;

/// Logs librdkafka events through `tracing`.
#[derive(Clone, Copy, Default)]
pub(crate) struct TracingContext;

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(error = %error, reason, "librdkafka error");
    }
}

fn log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    use RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error => {
            tracing::error!(facility = fac, "{message}")
        }
        L::Warning => tracing::warn!(facility = fac, "{message}"),
        L::Notice | L::Info => tracing::info!(facility = fac, "{message}"),
        L::Debug => tracing::debug!(facility = fac, "{message}"),
    }
}

/// Consumer context publishing the partition assignment.
pub(crate) struct RebalanceContext {
    assignment: watch::Sender<Vec<(String, u32)>>,
    /// Bumped at every rebalance; records polled earlier are stale.
    generation: AtomicU64,
    /// Marks this consumer as leaving its group until it is destroyed.
    pub(crate) departure: TicketSlot,
}

impl RebalanceContext {
    /// A context whose assignment starts empty.
    pub(crate) fn new() -> Self {
        Self {
            assignment: watch::channel(Vec::new()).0,
            generation: AtomicU64::new(0),
            departure: TicketSlot::default(),
        }
    }

    /// The current rebalance generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Receives every assignment change.
    pub(crate) fn assignment(&self) -> watch::Receiver<Vec<(String, u32)>> {
        self.assignment.subscribe()
    }

    /// Publishes a fixed assignment (used by tails, which have no group).
    pub(crate) fn set_assignment(&self, assignment: Vec<(String, u32)>) {
        self.assignment.send_replace(assignment);
    }
}

impl ClientContext for RebalanceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // End of a partition is how tails find the end: not a problem.
        if matches!(
            error,
            KafkaError::PartitionEOF(_)
                | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        ) {
            tracing::trace!(reason, "partition end reached");
            return;
        }
        tracing::warn!(error = %error, reason, "librdkafka consumer error");
    }
}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Runs on the polling thread before librdkafka changes the assignment,
        // so every record polled before this point is tagged with the old generation.
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Rebalance::Revoke(_) = rebalance {
            self.assignment.send_replace(Vec::new());
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Error(err) = rebalance {
            tracing::warn!(error = %err, "kafka rebalance failed");
        }
        match consumer.assignment() {
            Ok(tpl) => {
                let mut list: Vec<(String, u32)> = tpl
                    .elements()
                    .iter()
                    .filter_map(|e| {
                        Some((e.topic().to_owned(), u32::try_from(e.partition()).ok()?))
                    })
                    .collect();
                list.sort();
                tracing::debug!(partitions = list.len(), "kafka assignment changed");
                self.assignment.send_replace(list);
            }
            Err(err) => tracing::warn!(error = %err, "cannot read kafka assignment"),
        }
    }
}

/// Maps an rdkafka error, keeping `what` for context.
pub(crate) fn map_err(what: &str, err: KafkaError) -> BusError {
    match (&err, err.rdkafka_error_code()) {
        (KafkaError::ClientConfig(..) | KafkaError::Nul(_), _) => {
            BusError::InvalidArgument(format!("kafka {what}: {err}"))
        }
        (_, Some(code)) => map_code(what, code),
        _ => BusError::Unavailable(format!("kafka {what}: {err}")),
    }
}

/// Maps a librdkafka / broker error code: most are transient, hence Unavailable.
pub(crate) fn map_code(what: &str, code: RDKafkaErrorCode) -> BusError {
    use RDKafkaErrorCode as C;
    let message = format!("kafka {what}: {code}");
    match code {
        C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition => {
            BusError::NotFound(message)
        }
        C::InvalidTopic
        | C::InvalidPartitions
        | C::InvalidReplicationFactor
        | C::MessageSizeTooLarge
        | C::InvalidRecord
        | C::InvalidArgument => BusError::InvalidArgument(message),
        C::IllegalGeneration
        | C::UnknownMemberId
        | C::RebalanceInProgress
        | C::AssignmentLost
        | C::StaleMemberEpoch => BusError::Rebalanced(message),
        _ => BusError::Unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert!(matches!(
            map_code("x", RDKafkaErrorCode::MessageTimedOut),
            BusError::Unavailable(_)
        ));
        assert!(matches!(
            map_code("x", RDKafkaErrorCode::InvalidTopic),
            BusError::InvalidArgument(_)
        ));
        assert!(matches!(
            map_code("x", RDKafkaErrorCode::IllegalGeneration),
            BusError::Rebalanced(_)
        ));
    }
}
