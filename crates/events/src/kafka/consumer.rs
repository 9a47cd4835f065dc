//! Kafka subscriptions: a consumer polled by a dedicated thread.
//!
//! librdkafka serves rebalances only while the consumer is polled, and group
//! joins must progress even when the application is not calling `next()`
//! (tests wait on `assignment()` first). So each subscription owns a thread
//! that polls continuously and hands records over a small channel; the
//! channel's bound is the back-pressure. The thread also performs the final
//! close (leaving the group), which blocks and must stay off the async runtime.
//!
//! The group uses the eager protocol (`range,roundrobin`): a rebalance revokes
//! everything and fetching restarts from committed offsets, so records polled
//! before a rebalance (older generation) are simply dropped by `next()`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{mpsc, oneshot, watch};

use super::context::{RebalanceContext, map_err};
use super::departures::Departures;
use super::settings::Settings;
use super::tail::end_positions;
use crate::{BusError, Delivery, Subscription};

type KafkaConsumer = BaseConsumer<RebalanceContext>;

/// Records buffered between the polling thread and `next()`.
const CHANNEL_DEPTH: usize = 256;

/// What the polling thread sends: a record tagged with its rebalance generation.
type Polled = Result<(u64, Delivery), BusError>;

/// One Kafka consumer, as a group member or as a group-less tail.
pub(crate) struct KafkaSubscription {
    /// `None` only after the consumer was handed off to be closed.
    consumer: Option<Arc<KafkaConsumer>>,
    records: mpsc::Receiver<Polled>,
    stop: Arc<AtomicBool>,
    stopped: Option<oneshot::Receiver<()>>,
    /// Group members (not tails) commit and report their departure here.
    group: Option<(String, Departures)>,
    timeout: Duration,
}

impl KafkaSubscription {
    /// Joins `group` on `topics`; the assignment arrives with the first rebalance.
    pub(crate) fn join(
        settings: &Settings,
        group: &str,
        topics: &[String],
        departures: Departures,
    ) -> Result<Self, BusError> {
        let consumer: KafkaConsumer = consumer_config(settings)
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", "range,roundrobin")
            // A member that vanished without leaving loses its partitions
            // after 10 s instead of Kafka's default 45 s.
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .create_with_context(RebalanceContext::new())
            .map_err(|e| map_err("create consumer", e))?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&names)
            .map_err(|e| map_err("subscribe", e))?;
        Ok(Self::start(
            consumer,
            Some((group.to_owned(), departures)),
            settings.timeout,
        ))
    }

    /// Reads all partitions of `topics` from their current end. Blocking: call
    /// from a blocking thread.
    pub(crate) fn tail(settings: &Settings, topics: &[String]) -> Result<Self, BusError> {
        // librdkafka refuses `assign` without a group id; this group is never
        // joined (no subscribe) and never committed to.
        let consumer: KafkaConsumer = consumer_config(settings)
            .set("group.id", tail_group_id())
            .set("enable.partition.eof", "true")
            .create_with_context(RebalanceContext::new())
            .map_err(|e| map_err("create tail consumer", e))?;
        let starts = end_positions(&consumer, topics, settings.timeout)?;
        consumer
            .assign(&starts)
            .map_err(|e| map_err("tail assign", e))?;
        let mut assignment: Vec<(String, u32)> = starts
            .elements()
            .iter()
            .filter_map(|e| Some((e.topic().to_owned(), u32::try_from(e.partition()).ok()?)))
            .collect();
        assignment.sort();
        consumer.context().set_assignment(assignment);
        Ok(Self::start(consumer, None, settings.timeout))
    }

    /// Starts the polling thread.
    fn start(
        consumer: KafkaConsumer,
        group: Option<(String, Departures)>,
        timeout: Duration,
    ) -> Self {
        let consumer = Arc::new(consumer);
        let (tx, records) = mpsc::channel(CHANNEL_DEPTH);
        let stop = Arc::new(AtomicBool::new(false));
        let (stopped_tx, stopped) = oneshot::channel();
        let (polled, flag) = (consumer.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("chatflow-kafka-poll".into())
            .spawn(move || {
                poll_loop(&polled, &tx, &flag);
                // Dropping the last handle closes the consumer: it leaves the group.
                drop(polled);
                let _ = stopped_tx.send(());
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "cannot start kafka polling thread");
        }
        Self {
            consumer: Some(consumer),
            records,
            stop,
            stopped: Some(stopped),
            group,
            timeout,
        }
    }

    fn consumer(&self) -> Result<&Arc<KafkaConsumer>, BusError> {
        self.consumer
            .as_ref()
            .ok_or_else(|| BusError::Unavailable("kafka consumer is closed".into()))
    }

    /// Stops polling and hands our consumer handle to a blocking thread, so
    /// whichever handle goes last closes the consumer off the async runtime.
    fn shut_down(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        if let (Some(consumer), Some((group, departures))) = (&self.consumer, &self.group) {
            // Before stopping: the ticket must be in place when the consumer is destroyed.
            consumer.context().departure.hold(departures.begin(group));
        }
        self.stop.store(true, Ordering::Release);
        self.records.close();
        let consumer = self.consumer.take()?;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime.spawn_blocking(move || drop(consumer))),
            Err(_) => {
                drop(consumer);
                None
            }
        }
    }
}

/// Polls until asked to stop or until the subscription is gone.
fn poll_loop(consumer: &KafkaConsumer, tx: &mpsc::Sender<Polled>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => {
                let polled = Ok((consumer.context().generation(), to_delivery(&message)));
                if tx.blocking_send(polled).is_err() {
                    return;
                }
            }
            Some(Err(rdkafka::error::KafkaError::MessageConsumptionFatal(code))) => {
                let _ = tx.blocking_send(Err(BusError::Internal(format!(
                    "kafka consumer failed for good: {code}"
                ))));
                return;
            }
            // Tails ask for end-of-partition events to find their start; later ones mean nothing.
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => {}
            // Transient (broker down, topic not there yet): librdkafka retries.
            Some(Err(err)) => tracing::warn!(error = %err, "kafka consume error"),
        }
    }
}

/// A group id no other consumer uses: process id, a counter and the clock.
fn tail_group_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("chatflow-tail-{}-{n}-{nanos}", std::process::id())
}

fn consumer_config(settings: &Settings) -> rdkafka::ClientConfig {
    let mut config = settings.client_config();
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", "10");
    config
}

fn to_delivery(message: &BorrowedMessage<'_>) -> Delivery {
    let headers = message
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    Delivery {
        topic: message.topic().to_owned(),
        // librdkafka never hands out records with negative partitions or offsets.
        partition: u32::try_from(message.partition()).unwrap_or_default(),
        offset: u64::try_from(message.offset()).unwrap_or_default(),
        key: message.key().unwrap_or_default().to_vec(),
        payload: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
        headers,
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            let (generation, delivery) = self
                .records
                .recv()
                .await
                .ok_or_else(|| BusError::Unavailable("kafka consumer stopped".into()))??;
            // Fetched before a rebalance: librdkafka fetches it again from the committed offset.
            if generation == self.consumer()?.context().generation() {
                return Ok(delivery);
            }
        }
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        if self.group.is_none() {
            return Ok(());
        }
        let next = i64::try_from(delivery.offset + 1)
            .map_err(|_| BusError::InvalidArgument("offset out of range".into()))?;
        let partition = i32::try_from(delivery.partition)
            .map_err(|_| BusError::InvalidArgument("partition out of range".into()))?;
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(&delivery.topic, partition, Offset::Offset(next))
            .map_err(|e| map_err("commit", e))?;
        let consumer = self.consumer()?.clone();
        let job = tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync));
        match tokio::time::timeout(self.timeout, job).await {
            Err(_) => Err(BusError::Unavailable("kafka commit timed out".into())),
            Ok(Err(e)) => Err(BusError::Internal(format!("kafka commit panicked: {e}"))),
            Ok(Ok(result)) => result.map_err(|e| map_err("commit", e)),
        }
    }

    fn assignment(&self) -> watch::Receiver<Vec<(String, u32)>> {
        match &self.consumer {
            Some(consumer) => consumer.context().assignment(),
            None => watch::channel(Vec::new()).1,
        }
    }

    async fn close(mut self: Box<Self>) -> Result<(), BusError> {
        let ours = self.shut_down();
        let stopped = self.stopped.take();
        let wait = async move {
            if let Some(stopped) = stopped {
                let _ = stopped.await;
            }
            if let Some(ours) = ours {
                let _ = ours.await;
            }
        };
        // Leaving the group normally takes milliseconds; never hang on it.
        tokio::time::timeout(self.timeout * 2, wait)
            .await
            .map_err(|_| BusError::Unavailable("kafka consumer close timed out".into()))
    }
}

impl Drop for KafkaSubscription {
    fn drop(&mut self) {
        // Closing happens in the background; nothing more is committed.
        let _ = self.shut_down();
    }
}
