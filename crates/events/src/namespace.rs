//! The wrapper that [`crate::connect`] puts around every backend: it checks
//! names against Kafka's rules and applies the optional topic prefix.
//!
//! The prefix is added to topics and group names on the way in and stripped
//! from delivered topics and assignments on the way out, so a test with a
//! unique prefix sees a private bus even on a shared broker.

use async_trait::async_trait;
use tokio::sync::watch;

use crate::topic::{validate_group, validate_partitions, validate_topic_list};
use crate::{
    BusError, Delivery, EventBus, EventBusRef, OutgoingRecord, Subscription, validate_topic,
};

/// Validates names and applies a (possibly empty) prefix around another bus.
pub(crate) struct Namespaced {
    inner: EventBusRef,
    prefix: String,
}

impl Namespaced {
    /// Wraps `inner`; an empty prefix only adds validation.
    pub(crate) fn new(inner: EventBusRef, prefix: String) -> Self {
        Self { inner, prefix }
    }

    /// The full name of `topic` on the backend, checked.
    fn full(&self, topic: &str) -> Result<String, BusError> {
        let full = format!("{}{topic}", self.prefix);
        validate_topic(&full)?;
        Ok(full)
    }

    fn full_list(&self, topics: &[String]) -> Result<Vec<String>, BusError> {
        validate_topic_list(topics)?;
        topics.iter().map(|t| self.full(t)).collect()
    }

    /// Wraps a backend subscription unless there is nothing to strip.
    fn wrap(&self, sub: Box<dyn Subscription>) -> Box<dyn Subscription> {
        if self.prefix.is_empty() {
            sub
        } else {
            Box::new(NamespacedSubscription::new(sub, self.prefix.clone()))
        }
    }
}

#[async_trait]
impl EventBus for Namespaced {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        validate_partitions(partitions)?;
        self.inner
            .ensure_topic(&self.full(topic)?, partitions)
            .await
    }

    async fn publish(&self, mut record: OutgoingRecord) -> Result<(u32, u64), BusError> {
        record.topic = self.full(&record.topic)?;
        self.inner.publish(record).await
    }

    async fn publish_batch(
        &self,
        records: Vec<OutgoingRecord>,
    ) -> Vec<Result<(u32, u64), BusError>> {
        // Records whose topic cannot be prefixed fail in place; the rest go
        // down as one batch and their outcomes are put back in order.
        let mut refused = Vec::with_capacity(records.len());
        let mut valid = Vec::with_capacity(records.len());
        for mut record in records {
            match self.full(&record.topic) {
                Ok(full) => {
                    record.topic = full;
                    valid.push(record);
                    refused.push(None);
                }
                Err(err) => refused.push(Some(err)),
            }
        }
        let mut published = self.inner.publish_batch(valid).await.into_iter();
        refused
            .into_iter()
            .map(|refusal| match refusal {
                Some(err) => Err(err),
                None => published.next().unwrap_or_else(|| {
                    Err(BusError::Internal("a batch outcome went missing".into()))
                }),
            })
            .collect()
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Box<dyn Subscription>, BusError> {
        let group = format!("{}{group}", self.prefix);
        validate_group(&group)?;
        let topics = self.full_list(topics)?;
        Ok(self.wrap(self.inner.subscribe(&group, &topics).await?))
    }

    async fn tail(&self, topics: &[String]) -> Result<Box<dyn Subscription>, BusError> {
        let topics = self.full_list(topics)?;
        Ok(self.wrap(self.inner.tail(&topics).await?))
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.inner.ping().await
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
}

/// A subscription whose topics are shown without the prefix.
struct NamespacedSubscription {
    inner: Box<dyn Subscription>,
    prefix: String,
    assignment: watch::Receiver<Vec<(String, u32)>>,
}

impl NamespacedSubscription {
    fn new(inner: Box<dyn Subscription>, prefix: String) -> Self {
        let mut source = inner.assignment();
        let strip_all = {
            let prefix = prefix.clone();
            move |list: &[(String, u32)]| -> Vec<(String, u32)> {
                list.iter().map(|(t, p)| (strip(&prefix, t), *p)).collect()
            }
        };
        let (tx, rx) = watch::channel(strip_all(&source.borrow_and_update()));
        // Copies the inner assignment, stripped; ends when either side goes away.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = source.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let stripped = strip_all(&source.borrow_and_update());
                        tx.send_replace(stripped);
                    }
                    () = tx.closed() => break,
                }
            }
        });
        Self {
            inner,
            prefix,
            assignment: rx,
        }
    }
}

/// `topic` without `prefix` (unchanged if it does not carry it).
fn strip(prefix: &str, topic: &str) -> String {
    topic.strip_prefix(prefix).unwrap_or(topic).to_owned()
}

#[async_trait]
impl Subscription for NamespacedSubscription {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        let mut delivery = self.inner.next().await?;
        delivery.topic = strip(&self.prefix, &delivery.topic);
        Ok(delivery)
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        let full = delivery.position_only(format!("{}{}", self.prefix, delivery.topic));
        self.inner.commit(&full).await
    }

    fn assignment(&self) -> watch::Receiver<Vec<(String, u32)>> {
        self.assignment.clone()
    }

    async fn close(self: Box<Self>) -> Result<(), BusError> {
        // The relay stops by itself once the inner assignment sender is gone.
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn strip_removes_only_the_prefix() {
        assert_eq!(strip("t1.", "t1.orders"), "orders");
        assert_eq!(strip("t1.", "other"), "other");
    }
}
