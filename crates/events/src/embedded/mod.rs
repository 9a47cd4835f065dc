//! The embedded backend: a partitioned log with consumer groups, kept in a
//! SQLite file (`sqlite://`, durable across restarts) or in process memory
//! (`memory://`). Only [`storage`] differs between the two.
//!
//! Semantics follow Kafka: records go to `partition_for_key(key)`, offsets
//! are dense per partition, groups split partitions between live members and
//! resume from committed offsets. Differences: topics are never auto-created
//! (publishing to a missing topic is [`BusError::NotFound`]), there is no
//! retention, and groups are coordinated within one process only.

mod group;
mod memory;
mod sqlite;
mod storage;
mod subscription;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, watch};

use self::group::Coordinator;
use self::memory::MemoryStore;
use self::sqlite::SqliteStore;
use self::storage::Storage;
use self::subscription::EmbeddedSubscription;
use self::writer::{WriteOp, WriterState, lock};
use crate::{BusError, BusOptions, EventBus, OutgoingRecord, Subscription, partition_for_key};

/// A (topic, partition) pair; the key of every per-partition map.
pub(crate) type TopicPartition = (String, u32);

/// Depth of the writer queue; publishers wait (back-pressure) when it is full.
const WRITE_QUEUE: usize = 4096;

/// The embedded bus; cheap to share through [`crate::EventBusRef`].
pub(crate) struct EmbeddedBus {
    shared: Arc<Shared>,
}

/// State shared by the bus and its subscriptions.
pub(crate) struct Shared {
    storage: Storage,
    backend: &'static str,
    /// Partition count per topic.
    topics: RwLock<HashMap<String, u32>>,
    /// Next offset per partition, i.e. how far consumers may read.
    ends: Arc<Mutex<HashMap<TopicPartition, u64>>>,
    /// Changes after each batch of appends; consumers wait on it.
    appended: watch::Receiver<u64>,
    writer: mpsc::Sender<WriteOp>,
    groups: Coordinator,
    request_timeout: Duration,
}

impl EmbeddedBus {
    /// A bus in process memory, lost when it is dropped.
    pub(crate) async fn open_memory(options: &BusOptions) -> Result<Self, BusError> {
        let storage = Storage::Memory(Arc::new(MemoryStore::default()));
        Self::open(storage, "embedded-memory", options).await
    }

    /// A bus in a SQLite file, created if missing, with its records and offsets.
    pub(crate) async fn open_file(path: &Path, options: &BusOptions) -> Result<Self, BusError> {
        let storage = Storage::Sqlite(SqliteStore::open(path, options.request_timeout).await?);
        Self::open(storage, "embedded-sqlite", options).await
    }

    async fn open(
        storage: Storage,
        backend: &'static str,
        options: &BusOptions,
    ) -> Result<Self, BusError> {
        let topics = storage.load_topics().await?;
        let ends = Arc::new(Mutex::new(storage.load_ends(&topics).await?));
        let (appended_tx, appended) = watch::channel(0);
        let (writer, ops) = mpsc::channel(WRITE_QUEUE);
        let state = WriterState {
            storage: storage.clone(),
            ends: ends.clone(),
            appended: appended_tx,
        };
        tokio::spawn(writer::run(state, ops));
        let shared = Shared {
            storage,
            backend,
            topics: RwLock::new(topics),
            ends,
            appended,
            writer,
            groups: Coordinator::default(),
            request_timeout: options.request_timeout,
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }
}

impl Shared {
    /// Runs `f` with the topic table read-locked (never across an await).
    ///
    /// Lock order is topics, then groups: group changes that need partition
    /// counts happen inside `f`, so a join cannot miss a topic being created.
    pub(crate) fn with_topics<R>(&self, f: impl FnOnce(&HashMap<String, u32>) -> R) -> R {
        f(&self
            .topics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn partitions_of(&self, topic: &str) -> Result<u32, BusError> {
        self.with_topics(|topics| topics.get(topic).copied())
            .ok_or_else(|| BusError::NotFound(format!("topic {topic:?} does not exist")))
    }

    /// Next offset of a partition (0 if nothing was ever written).
    fn end_of(&self, tp: &TopicPartition) -> u64 {
        lock(&self.ends).get(tp).copied().unwrap_or(0)
    }

    /// Queues a write and waits for its outcome, within the request timeout.
    async fn write<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, BusError>>) -> WriteOp,
    ) -> Result<T, BusError> {
        let (reply, outcome) = oneshot::channel();
        let closed = || BusError::Unavailable("embedded bus is shutting down".into());
        let wait = async {
            self.writer.send(make(reply)).await.map_err(|_| closed())?;
            outcome.await.map_err(|_| closed())?
        };
        tokio::time::timeout(self.request_timeout, wait)
            .await
            .map_err(|_| BusError::Unavailable("embedded log write timed out".into()))?
    }
}

/// A reply still to come from the writer.
type Reply<T> = oneshot::Receiver<Result<T, BusError>>;

impl Shared {
    /// Queues one append without waiting for it to be stored.
    async fn enqueue_append(
        &self,
        record: OutgoingRecord,
        deadline: tokio::time::Instant,
    ) -> Result<(u32, Reply<u64>), BusError> {
        crate::validate_topic(&record.topic)?;
        let partitions = self.partitions_of(&record.topic)?;
        let partition = partition_for_key(&record.key, partitions);
        let (reply, outcome) = oneshot::channel();
        let op = WriteOp::Append {
            tp: (record.topic, partition),
            key: record.key,
            payload: record.payload,
            headers: record.headers,
            reply,
        };
        match tokio::time::timeout_at(deadline, self.writer.send(op)).await {
            Ok(Ok(())) => Ok((partition, outcome)),
            Ok(Err(_)) => Err(BusError::Unavailable(
                "embedded bus is shutting down".into(),
            )),
            Err(_) => Err(BusError::Unavailable("embedded log write timed out".into())),
        }
    }

    /// Waits for a queued write's outcome until `deadline`.
    async fn await_reply<T>(
        &self,
        reply: Reply<T>,
        deadline: tokio::time::Instant,
    ) -> Result<T, BusError> {
        match tokio::time::timeout_at(deadline, reply).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(BusError::Unavailable(
                "embedded bus is shutting down".into(),
            )),
            Err(_) => Err(BusError::Unavailable("embedded log write timed out".into())),
        }
    }
}

#[async_trait]
impl EventBus for EmbeddedBus {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        crate::topic::validate_partitions(partitions)?;
        crate::validate_topic(topic)?;
        if self.shared.with_topics(|t| t.contains_key(topic)) {
            return Ok(());
        }
        self.shared.storage.insert_topic(topic, partitions).await?;
        // Re-read the table: a concurrent creator may have won with another count.
        let all = self.shared.storage.load_topics().await?;
        let mut topics = self
            .shared
            .topics
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *topics = all;
        self.shared.groups.topics_changed(&topics);
        Ok(())
    }

    async fn publish(&self, record: OutgoingRecord) -> Result<(u32, u64), BusError> {
        crate::validate_topic(&record.topic)?;
        let partitions = self.shared.partitions_of(&record.topic)?;
        let partition = partition_for_key(&record.key, partitions);
        let offset = self
            .shared
            .write(|reply| WriteOp::Append {
                tp: (record.topic, partition),
                key: record.key,
                payload: record.payload,
                headers: record.headers,
                reply,
            })
            .await?;
        Ok((partition, offset))
    }

    async fn publish_batch(
        &self,
        records: Vec<OutgoingRecord>,
    ) -> Vec<Result<(u32, u64), BusError>> {
        // Queue every record first, in order (the writer answers in queue
        // order and folds them into as few commits as it can), then wait.
        let deadline = tokio::time::Instant::now() + self.shared.request_timeout;
        let mut pending = Vec::with_capacity(records.len());
        for record in records {
            pending.push(self.shared.enqueue_append(record, deadline).await);
        }
        let mut outcomes = Vec::with_capacity(pending.len());
        for queued in pending {
            outcomes.push(match queued {
                Ok((partition, reply)) => self
                    .shared
                    .await_reply(reply, deadline)
                    .await
                    .map(|offset| (partition, offset)),
                Err(err) => Err(err),
            });
        }
        outcomes
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Box<dyn Subscription>, BusError> {
        crate::topic::validate_topic_list(topics)?;
        crate::topic::validate_group(group)?;
        Ok(Box::new(EmbeddedSubscription::join(
            self.shared.clone(),
            group,
            topics,
        )))
    }

    async fn tail(&self, topics: &[String]) -> Result<Box<dyn Subscription>, BusError> {
        crate::topic::validate_topic_list(topics)?;
        let mut start = Vec::new();
        for topic in topics {
            for partition in 0..self.shared.partitions_of(topic)? {
                let tp = (topic.clone(), partition);
                let end = self.shared.end_of(&tp);
                start.push((tp, end));
            }
        }
        Ok(Box::new(EmbeddedSubscription::tail(
            self.shared.clone(),
            start,
        )))
    }

    async fn ping(&self) -> Result<(), BusError> {
        let probe = self.shared.storage.ping();
        tokio::time::timeout(self.shared.request_timeout, probe)
            .await
            .map_err(|_| BusError::Unavailable("embedded bus ping timed out".into()))?
    }

    fn backend(&self) -> &'static str {
        self.shared.backend
    }
}
