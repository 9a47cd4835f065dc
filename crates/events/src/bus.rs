//! The two traits of the port: [`EventBus`] (a connection to a backend) and
//! [`Subscription`] (one consumer reading from it).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{BusError, Delivery, OutgoingRecord};

/// A shared handle to whichever backend [`crate::connect`] chose.
pub type EventBusRef = Arc<dyn EventBus>;

/// A connection to an event backend: topics with partitions, durable
/// publishing, consumer groups and live tails.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Creates the topic with this partition count if missing (idempotent).
    ///
    /// An existing topic keeps its partition count, even if it differs.
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError>;

    /// Resolves once the record is durably stored (Kafka: acks=all); returns (partition, offset).
    ///
    /// The partition is [`crate::partition_for_key`] of the record key, so
    /// records with the same key keep their order.
    async fn publish(&self, record: OutgoingRecord) -> Result<(u32, u64), BusError>;

    /// Publishes records in the given order without waiting for each one's
    /// acknowledgement before sending the next (one round of durability for
    /// the lot); returns each record's outcome, in order.
    ///
    /// Records with the same key keep their order. After a failure, later
    /// records may still have been stored: a caller that retries resends
    /// them, and consumers drop the duplicates by envelope id.
    async fn publish_batch(
        &self,
        records: Vec<OutgoingRecord>,
    ) -> Vec<Result<(u32, u64), BusError>> {
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            outcomes.push(self.publish(record).await);
        }
        outcomes
    }

    /// Joins consumer group `group` on `topics`; starts from the committed offset, or the earliest if none.
    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Box<dyn Subscription>, BusError>;

    /// A group-less reader of all partitions of `topics` that starts at the current end (live changes only); commit is a no-op.
    async fn tail(&self, topics: &[String]) -> Result<Box<dyn Subscription>, BusError>;

    /// Checks the backend is reachable (for /readyz).
    async fn ping(&self) -> Result<(), BusError>;

    /// Human-readable backend name for logs and test output: "kafka", "embedded-memory", "embedded-sqlite".
    fn backend(&self) -> &'static str;
}

/// One consumer: a member of a group (from [`EventBus::subscribe`]) or a
/// live tail (from [`EventBus::tail`]).
///
/// Dropping a subscription without [`Subscription::close`] leaves the group
/// too, as a crashed process would after its session expired: whatever it
/// had not committed is delivered again to the next owner of the partition.
#[async_trait]
pub trait Subscription: Send {
    /// Waits for the next record of an assigned partition.
    ///
    /// Cancel-safe: dropping the future loses no record.
    async fn next(&mut self) -> Result<Delivery, BusError>;

    /// Marks this delivery and everything before it on its partition as processed (commits offset+1).
    ///
    /// Fails with [`BusError::Rebalanced`] if the partition has moved to
    /// another member since; the new owner will see the record again.
    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError>;

    /// Current partition assignment, updated on rebalance; tests wait on it instead of sleeping.
    fn assignment(&self) -> watch::Receiver<Vec<(String, u32)>>;

    /// Commits nothing more, leaves the group cleanly.
    async fn close(self: Box<Self>) -> Result<(), BusError>;
}
