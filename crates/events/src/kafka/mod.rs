//! The Kafka backend (cargo feature `kafka`), on rdkafka with a bundled librdkafka.
//!
//! Every call is bounded by the request timeout and blocking librdkafka calls
//! run on blocking threads, so an unreachable broker yields
//! [`BusError::Unavailable`] in time instead of a hang. The producer is
//! idempotent with `acks=all` and Kafka's murmur2 partitioner, so keys land
//! where the embedded backend and Java clients put them.

mod consumer;
mod context;
mod departures;
mod settings;
mod tail;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::Producer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use self::consumer::KafkaSubscription;
use self::context::{TracingContext, map_code, map_err};
use self::departures::Departures;
use self::settings::Settings;
use crate::{BusError, BusOptions, EventBus, OutgoingRecord, Subscription};

/// Extra time granted to librdkafka to report its own timeout before ours fires.
const GRACE: Duration = Duration::from_millis(250);

/// A Kafka cluster reached through one producer and one admin client.
pub(crate) struct KafkaBus {
    settings: Settings,
    producer: FutureProducer<TracingContext>,
    admin: AdminClient<TracingContext>,
    departures: Departures,
    timeout: Duration,
}

impl KafkaBus {
    /// Parses the URL remainder (see [`Settings::parse`]) and creates the
    /// clients; no network traffic happens yet.
    pub(crate) fn new(address: &str, options: &BusOptions) -> Result<Self, BusError> {
        let settings = Settings::parse(address, options)?;
        let producer = settings
            .client_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            // A publish that cannot be stored in time fails instead of waiting.
            // librdkafka scans for expired messages about once a second, so
            // expire early enough for the error to arrive within the timeout.
            .set("message.timeout.ms", settings.delivery_timeout_ms())
            .set("request.timeout.ms", settings.delivery_timeout_ms())
            .set("partitioner", "murmur2_random")
            .create_with_context(TracingContext)
            .map_err(|e| map_err("create producer", e))?;
        let admin = settings
            .client_config()
            .create_with_context(TracingContext)
            .map_err(|e| map_err("create admin client", e))?;
        Ok(Self {
            timeout: settings.timeout,
            settings,
            producer,
            admin,
            departures: Departures::new(),
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

/// The rdkafka record for `record`, borrowing its key and payload.
fn future_record(record: &OutgoingRecord) -> FutureRecord<'_, [u8], [u8]> {
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    for (key, value) in &record.headers {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_slice()),
        });
    }
    FutureRecord::to(&record.topic)
        .key(record.key.as_slice())
        .payload(record.payload.as_ref())
        .headers(headers)
}

/// Checks the partition and offset a broker acknowledged.
fn position(partition: i32, offset: i64) -> Result<(u32, u64), BusError> {
    let partition = u32::try_from(partition)
        .map_err(|_| BusError::Internal("broker returned a negative partition".into()))?;
    let offset = u64::try_from(offset)
        .map_err(|_| BusError::Internal("broker returned a negative offset".into()))?;
    Ok((partition, offset))
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
            TopicReplication::Fixed(self.settings.replication_factor),
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
        let future_record = future_record(&record);
        let delivered = self
            .bounded("publish", async {
                self.producer
                    .send(future_record, Timeout::After(self.timeout))
                    .await
                    .map_err(|(e, _)| map_err("publish", e))
            })
            .await?;
        position(delivered.partition, delivered.offset)
    }

    async fn publish_batch(
        &self,
        records: Vec<OutgoingRecord>,
    ) -> Vec<Result<(u32, u64), BusError>> {
        // Hand every record to librdkafka first, in order (the idempotent
        // producer keeps per-partition order), so they share produce
        // requests; then collect the acknowledgements.
        let mut queued = Vec::with_capacity(records.len());
        for record in &records {
            queued.push(match self.producer.send_result(future_record(record)) {
                Ok(delivery) => Ok(delivery),
                // Full local queue: this one waits for room the slow way.
                Err((err, _)) => Err(err),
            });
        }
        let mut outcomes = Vec::with_capacity(records.len());
        for (record, queued) in records.into_iter().zip(queued) {
            outcomes.push(match queued {
                Ok(delivery) => {
                    let acked = self
                        .bounded("publish", async {
                            match delivery.await {
                                Ok(Ok(delivered)) => Ok(delivered),
                                Ok(Err((e, _))) => Err(map_err("publish", e)),
                                Err(_) => Err(BusError::Unavailable(
                                    "kafka producer closed during publish".into(),
                                )),
                            }
                        })
                        .await;
                    acked.and_then(|d| position(d.partition, d.offset))
                }
                Err(_) => self.publish(record).await,
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
        // Fail fast (and in time) when the cluster is unreachable.
        self.ping().await?;
        self.departures.settled(group, self.timeout).await;
        let sub = KafkaSubscription::join(&self.settings, group, topics, self.departures.clone())?;
        Ok(Box::new(sub))
    }

    async fn tail(&self, topics: &[String]) -> Result<Box<dyn Subscription>, BusError> {
        crate::topic::validate_topic_list(topics)?;
        let (settings, topics) = (self.settings.clone(), topics.to_vec());
        let job = tokio::task::spawn_blocking(move || KafkaSubscription::tail(&settings, &topics));
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
