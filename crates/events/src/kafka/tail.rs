//! Where a live tail starts: the true end of every partition, fixed before
//! `tail()` returns.
//!
//! Two things make the obvious `assign(Offset::End)` insufficient. It is
//! resolved asynchronously, so records published right after `tail()`
//! returned could fall before the resolved end and be skipped. And nisshi
//! answers ListOffsets(latest) with the base offset of the last batch + 1, so
//! the "end" can lie inside the last batch. We therefore start at the listed
//! end and read (discarding) up to `PartitionEOF`, which librdkafka derives
//! from the high watermark of actual fetch responses. The offset after the
//! last discarded record, or the listed end if none, is the true start.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::context::{RebalanceContext, map_err};
use crate::BusError;

type Positions = BTreeMap<i32, i64>;

/// Start offsets for every partition of `topics`, all at their current end.
/// Blocking; the consumer must have `enable.partition.eof=true`.
pub(crate) fn end_positions(
    consumer: &BaseConsumer<RebalanceContext>,
    topics: &[String],
    timeout: Duration,
) -> Result<TopicPartitionList, BusError> {
    let deadline = Instant::now() + timeout;
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| map_err("tail metadata", e))?;
    let mut starts = TopicPartitionList::new();
    for topic in topics {
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .ok_or_else(|| BusError::NotFound(format!("topic {topic:?} does not exist")))?
            .partitions()
            .iter()
            .map(|p| p.id())
            .collect();
        let listed = listed_ends(consumer, topic, &partitions, timeout)?;
        // One topic at a time: PartitionEOF names the partition but not the topic.
        for (partition, offset) in read_to_end(consumer, topic, listed, deadline)? {
            starts
                .add_partition_offset(topic, partition, Offset::Offset(offset))
                .map_err(|e| map_err("tail offsets", e))?;
        }
    }
    Ok(starts)
}

/// The broker's idea of each partition's end (a "timestamp" of -1 means latest).
fn listed_ends(
    consumer: &BaseConsumer<RebalanceContext>,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<Positions, BusError> {
    let mut wanted = TopicPartitionList::new();
    for &partition in partitions {
        wanted
            .add_partition_offset(topic, partition, Offset::End)
            .map_err(|e| map_err("tail offsets", e))?;
    }
    let listed = consumer
        .offsets_for_times(wanted, timeout)
        .map_err(|e| map_err("tail offsets", e))?;
    let mut ends = Positions::new();
    for elem in listed.elements() {
        elem.error().map_err(|e| map_err("tail offsets", e))?;
        match elem.offset() {
            Offset::Offset(offset) => ends.insert(elem.partition(), offset),
            other => {
                return Err(BusError::Unavailable(format!(
                    "kafka listed no end offset for {topic}/{}: {other:?}",
                    elem.partition()
                )));
            }
        };
    }
    Ok(ends)
}

/// Reads from `positions` until every partition reported end-of-partition.
fn read_to_end(
    consumer: &BaseConsumer<RebalanceContext>,
    topic: &str,
    mut positions: Positions,
    deadline: Instant,
) -> Result<Positions, BusError> {
    let mut assignment = TopicPartitionList::new();
    for (&partition, &offset) in &positions {
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(offset))
            .map_err(|e| map_err("tail assign", e))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| map_err("tail assign", e))?;
    let mut pending: BTreeSet<i32> = positions.keys().copied().collect();
    while !pending.is_empty() {
        if Instant::now() >= deadline {
            return Err(BusError::Unavailable(format!(
                "kafka tail could not reach the end of {topic} in time"
            )));
        }
        match consumer.poll(Duration::from_millis(50)) {
            // History the tail must not deliver: only remember how far it goes.
            Some(Ok(message)) => {
                positions.insert(message.partition(), message.offset() + 1);
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                pending.remove(&partition);
            }
            Some(Err(err)) => tracing::debug!(error = %err, "kafka tail probe error"),
            None => {}
        }
    }
    Ok(positions)
}
