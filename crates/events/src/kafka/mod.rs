//! The Kafka backend (cargo feature `kafka`), on rdkafka with a bundled librdkafka.
//!
//! Every call is bounded by the request timeout and blocking librdkafka calls
//! run on blocking threads, so an unreachable broker yields
//! [`BusError::Unavailable`] in time instead of a hang. The producer is
//! idempotent with `acks=all` and Kafka's murmur2 partitioner, so keys land
//! where the embedded backend and Java clients put them.

mod consumer;
mod context;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::Producer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use self::consumer::KafkaSubscription;
use self::context::{TracingContext, map_code, map_err};
use crate::{BusError, BusOptions, EventBus, OutgoingRecord, Subscription};

/// Extra time granted to librdkafka to report its own timeout before ours fires.
const GRACE: Duration = Duration::from_secs(1);

/// A Kafka cluster reached through one producer and one admin client.
pub(crate) struct KafkaBus {
    brokers: String,
    producer: FutureProducer<TracingContext>,
    admin: AdminClient<TracingContext>,
    replication_factor: i32,
    timeout: Duration,
}

impl KafkaBus {
    /// Parses `host:port[,host:port][?replication_factor=N]` and creates the
    /// clients; no network traffic happens yet.
    pub(crate) fn new(address: &str, options: &BusOptions) -> Result<Self, BusError> {
        let (brokers, query) = address.split_once('?').unwrap_or((address, ""));
        if brokers.is_empty() || brokers.split(',').any(|b| b.trim().is_empty()) {
            return Err(BusError::InvalidArgument(format!(
                "kafka url needs host:port[,host:port], got {address:?}"
            )));
        }
        // -1 lets the broker apply its default replication factor (KIP-464).
        let mut replication_factor = -1;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("replication_factor", n)) => {
                    replication_factor = n.parse().map_err(|_| {
                        BusError::InvalidArgument(format!("bad replication_factor {n:?}"))
                    })?;
                }
                _ => {
                    return Err(BusError::InvalidArgument(format!(
                        "unknown kafka url parameter {pair:?}"
                    )));
                }
            }
        }
        let timeout_ms = options.request_timeout.as_millis().to_string();
        let producer = client_config(brokers, options)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            // A publish that cannot be stored within the timeout fails instead of waiting.
            .set("message.timeout.ms", &timeout_ms)
            .set("request.timeout.ms", &timeout_ms)
            .set("partitioner", "murmur2_random")
            .create_with_context(TracingContext)
            .map_err(|e| map_err("create producer", e))?;
        let admin = client_config(brokers, options)
            .create_with_context(TracingContext)
            .map_err(|e| map_err("create admin client", e))?;
        Ok(Self {
            brokers: brokers.to_owned(),
            producer,
            admin,
            replication_factor,
            timeout: options.request_timeout,
        })
    }

    /// Awaits `work` for at most the request timeout (plus grace).
    async fn bounded<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, BusError>>,
    ) -> Result<T, BusError> {
        tokio::time::timeout(self.timeout + GRACE, work)
            .await
            .map_err(|_| BusError::Unavailable(format!("kafka {what} timed out")))?
    }
}

/// Settings shared by every client of one bus.
pub(crate) fn client_config(brokers: &str, options: &BusOptions) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "chatflow")
        .set(
            "socket.connection.setup.timeout.ms",
            options.request_timeout.as_millis().to_string(),
        );
    config
}

#[async_trait]
impl EventBus for KafkaBus {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        crate::topic::validate_partitions(partitions)?;
        crate::validate_topic(topic)?;
        let count = i32::try_from(partitions)
            .map_err(|_| BusError::InvalidArgument("too many partitions".into()))?;
        let new = NewTopic::new(
            topic,
            count,
            TopicReplication::Fixed(self.replication_factor),
        );
        let options = AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout));
        let results = self
            .bounded("create topic", async {
                self.admin
                    .create_topics([&new], &options)
                    .await
                    .map_err(|e| map_err("create topic", e))
            })
            .await?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => return Err(map_code(&format!("create topic {name}"), code)),
            }
        }
        Ok(())
    }

    async fn publish(&self, record: OutgoingRecord) -> Result<(u32, u64), BusError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_slice()),
            });
        }
        let future_record = FutureRecord::to(&record.topic)
            .key(record.key.as_slice())
            .payload(record.payload.as_ref())
            .headers(headers);
        let delivered = self
            .bounded("publish", async {
                self.producer
                    .send(future_record, Timeout::After(self.timeout))
                    .await
                    .map_err(|(e, _)| map_err("publish", e))
            })
            .await?;
        let partition = u32::try_from(delivered.partition)
            .map_err(|_| BusError::Internal("broker returned a negative partition".into()))?;
        let offset = u64::try_from(delivered.offset)
            .map_err(|_| BusError::Internal("broker returned a negative offset".into()))?;
        Ok((partition, offset))
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Box<dyn Subscription>, BusError> {
        crate::topic::validate_topic_list(topics)?;
        crate::topic::validate_group(group)?;
        // Fail fast (and in time) when the cluster is unreachable.
        self.ping().await?;
        let sub = KafkaSubscription::join(&self.brokers, group, topics, self.timeout)?;
        Ok(Box::new(sub))
    }

    async fn tail(&self, topics: &[String]) -> Result<Box<dyn Subscription>, BusError> {
        crate::topic::validate_topic_list(topics)?;
        let (brokers, topics, timeout) = (self.brokers.clone(), topics.to_vec(), self.timeout);
        let job = tokio::task::spawn_blocking(move || {
            KafkaSubscription::tail(&brokers, &topics, timeout)
        });
        let sub = self
            .bounded("tail", async {
                job.await
                    .map_err(|e| BusError::Internal(format!("tail setup panicked: {e}")))?
            })
            .await?;
        Ok(Box::new(sub))
    }

    async fn ping(&self) -> Result<(), BusError> {
        let producer = self.producer.clone();
        let timeout = self.timeout;
        let job = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, timeout)
                .map(|_| ())
                .map_err(|e| map_err("ping", e))
        });
        self.bounded("ping", async {
            job.await
                .map_err(|e| BusError::Internal(format!("ping panicked: {e}")))?
        })
        .await
    }

    fn backend(&self) -> &'static str {
        "kafka"
    }
}
