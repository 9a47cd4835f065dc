//! Fault injection: a real bus that refuses publishes while switched off,
//! standing in for a broker outage between commit and publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chatflow_events::{BusError, EventBus, EventBusRef, OutgoingRecord, Subscription};

pub struct FaultyBus {
    pub inner: EventBusRef,
    pub down: Arc<AtomicBool>,
}

#[async_trait]
impl EventBus for FaultyBus {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        self.inner.ensure_topic(topic, partitions).await
    }
    async fn publish(&self, record: OutgoingRecord) -> Result<(u32, u64), BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::Unavailable("broker down (injected)".into()));
        }
        self.inner.publish(record).await
    }
    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.inner.subscribe(group, topics).await
    }
    async fn tail(&self, topics: &[String]) -> Result<Box<dyn Subscription>, BusError> {
        self.inner.tail(topics).await
    }
    async fn ping(&self) -> Result<(), BusError> {
        self.inner.ping().await
    }
    fn backend(&self) -> &'static str {
        "faulty"
    }
}
