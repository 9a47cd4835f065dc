//! Writing events into the outbox and relaying them to the bus.

use std::sync::Arc;
use std::time::Duration;

use chatflow_events::{EventBusRef, OutgoingRecord};
use chatflow_runtime::clock::now_ms;
use chatflow_sql::sqlx::{self, Any, Row, Transaction};
use chatflow_sql::{Dialect, SqlStore};
use prost::Message;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::envelope::{EventHeaders, envelope_for};
use crate::table::{decode_headers, encode_headers};
use crate::{OutboxError, metrics as m, table};

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Rows published per pass (and per relay transaction).
    pub batch_size: i64,
    /// How often to look for rows written by other processes when not woken.
    pub idle_poll: Duration,
    /// The longest wait between retries after a failure.
    pub max_backoff: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            batch_size: 100,
            idle_poll: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The outbox of one service; cheap to clone.
#[derive(Clone, Debug)]
pub struct Outbox {
    store: SqlStore,
    source: String,
    wake: Arc<Notify>,
}

impl Outbox {
    /// Opens the outbox in `store`, creating its table when missing.
    /// `source` names the producing service in every envelope.
    pub async fn open(store: SqlStore, source: &str) -> Result<Self, OutboxError> {
        m::describe();
        table::ensure(&store).await?;
        Ok(Self {
            store,
            source: source.to_owned(),
            wake: Arc::new(Notify::new()),
        })
    }

    /// Adds an event to the caller's transaction; it is published only if the
    /// transaction commits. Returns the envelope id. Call [`Outbox::wake`]
    /// after the commit so the relay publishes without waiting for its poll.
    pub async fn enqueue(
        &self,
        tx: &mut Transaction<'static, Any>,
        topic: &str,
        subject: &str,
        message: &impl Message,
    ) -> Result<String, OutboxError> {
        let envelope = envelope_for(topic, &self.source, subject, message);
        let mut headers = vec![
            (
                EventHeaders::ID.to_owned(),
                envelope.id.clone().into_bytes(),
            ),
            (EventHeaders::TYPE.to_owned(), topic.as_bytes().to_vec()),
            (
                EventHeaders::SOURCE.to_owned(),
                self.source.as_bytes().to_vec(),
            ),
        ];
        // The trace of the request that changed state continues in the consumer.
        chatflow_events::inject_trace_context(&mut headers);
        sqlx::query(
            "INSERT INTO outbox (topic, record_key, payload, headers, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(topic)
        .bind(subject.as_bytes().to_vec())
        .bind(envelope.encode_to_vec())
        .bind(encode_headers(&headers))
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        Ok(envelope.id)
    }

    /// Tells the relay that new rows were committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Rows not yet published.
    pub async fn pending(&self) -> Result<i64, OutboxError> {
        let row = sqlx::query("SELECT COUNT(*) FROM outbox")
            .fetch_one(self.store.pool())
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Publishes pending rows until shutdown; failures are retried with
    /// backoff, never skipped, so order and completeness hold.
    pub async fn run_relay(
        &self,
        bus: EventBusRef,
        options: RelayOptions,
        shutdown: CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.relay_once(&bus, options.batch_size).await {
                Ok(published) if published as i64 >= options.batch_size => continue,
                Ok(_) => {
                    backoff = Duration::from_millis(50);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(options.idle_poll) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(err) => {
                    metrics::counter!(m::PUBLISH_FAILURES).increment(1);
                    tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(options.max_backoff);
                }
            }
        }
        // Drain what was committed before shutdown, best effort.
        if let Err(err) = self.relay_once(&bus, options.batch_size).await {
            tracing::warn!(error = %err, "outbox not fully drained at shutdown; rows stay for the next start");
        }
    }

    /// Publishes up to `batch_size` rows in id order; returns how many.
    pub async fn relay_once(
        &self,
        bus: &EventBusRef,
        batch_size: i64,
    ) -> Result<usize, OutboxError> {
        let mut tx = self.store.begin().await?;
        if self.store.dialect() == Dialect::Postgres {
            // One relay per schema at a time keeps bus order equal to commit order.
            sqlx::query("SELECT id FROM outbox_relay_lock WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await?;
        }
        let rows = sqlx::query(
            "SELECT id, topic, record_key, payload, headers FROM outbox ORDER BY id LIMIT $1",
        )
        .bind(batch_size)
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            records.push(decode_row(id, row)?);
            ids.push(id);
        }
        // One batch shares the bus's commits; only the prefix up to the first
        // failure counts as published, so the retry resends in order.
        let topics: Vec<String> = records.iter().map(|r| r.topic.clone()).collect();
        let outcomes = bus.publish_batch(records).await;
        let mut published = Vec::with_capacity(ids.len());
        let mut failure = None;
        for ((id, topic), outcome) in ids.into_iter().zip(topics).zip(outcomes) {
            match outcome {
                Ok(_) => {
                    metrics::counter!(m::PUBLISHED, "topic" => topic).increment(1);
                    published.push(id);
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        if !published.is_empty() {
            // Ids come from the database, so formatting them into SQL is safe.
            let ids: Vec<String> = published.iter().map(i64::to_string).collect();
            let delete = format!("DELETE FROM outbox WHERE id IN ({})", ids.join(","));
            sqlx::query(&delete).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        if let Some(err) = failure {
            return Err(err.into());
        }
        // A short batch drained the table as of this pass; only a full one
        // needs a count to know the backlog.
        let backlog = if (published.len() as i64) < batch_size {
            Some(0)
        } else {
            self.pending().await.ok()
        };
        if let Some(pending) = backlog {
            metrics::gauge!(m::PENDING).set(pending as f64);
        }
        Ok(published.len())
    }
}

fn decode_row(
    id: i64,
    row: &chatflow_sql::sqlx::any::AnyRow,
) -> Result<OutgoingRecord, OutboxError> {
    let headers_text: String = row.try_get("headers")?;
    let headers =
        decode_headers(&headers_text).map_err(|reason| OutboxError::Corrupt { id, reason })?;
    Ok(OutgoingRecord {
        topic: row.try_get("topic")?,
        key: row.try_get("record_key")?,
        payload: bytes::Bytes::from(row.try_get::<Vec<u8>, _>("payload")?),
        headers,
    })
}
