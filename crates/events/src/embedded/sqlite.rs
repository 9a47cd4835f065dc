//! The `sqlite://` storage: schema, queries and the header codec.
//!
//! One file holds three tables: topics with their partition counts, the
//! records of every partition, and the committed offsets of every consumer
//! group. The hot queries (read a partition from an offset, find the last
//! offset) walk a primary key. The file uses WAL; a batch holding records is
//! committed with `synchronous = FULL` because a publish is acknowledged as
//! durable, while commit-only batches use `NORMAL` (a power cut may lose
//! them, which only means redelivery).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::TopicPartition;
use super::storage::Write;
use crate::{BusError, Delivery};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS bus_topics (
        name TEXT PRIMARY KEY,
        partitions INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS bus_records (
        topic TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        record_offset INTEGER NOT NULL,
        record_key BLOB NOT NULL,
        payload BLOB NOT NULL,
        headers BLOB NOT NULL,
        PRIMARY KEY (topic, partition_id, record_offset)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS bus_offsets (
        grp TEXT NOT NULL,
        topic TEXT NOT NULL,
        partition_id INTEGER NOT NULL,
        next_offset INTEGER NOT NULL,
        PRIMARY KEY (grp, topic, partition_id)
    ) WITHOUT ROWID",
];

/// A bus file and its connection pool.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the bus file at `path`.
    pub(crate) async fn open(path: &Path, timeout: Duration) -> Result<Self, BusError> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_with(connect)
            .await
            .map_err(|e| {
                BusError::Unavailable(format!("cannot open bus file {}: {e}", path.display()))
            })?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// Every topic and its partition count.
    pub(crate) async fn load_topics(&self) -> Result<HashMap<String, u32>, BusError> {
        let rows = sqlx::query("SELECT name, partitions FROM bus_topics")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("name")?, to_u32(row.try_get("partitions")?)?)))
            .collect()
    }

    /// The next offset to assign in every partition of `topics` (0 when empty).
    pub(crate) async fn load_ends(
        &self,
        topics: &HashMap<String, u32>,
    ) -> Result<HashMap<TopicPartition, u64>, BusError> {
        let mut ends = HashMap::new();
        for (topic, &partitions) in topics {
            for partition in 0..partitions {
                // One primary-key probe per partition, instead of a GROUP BY over the log.
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(record_offset) FROM bus_records WHERE topic = ? AND partition_id = ?",
                )
                .bind(topic)
                .bind(i64::from(partition))
                .fetch_one(&self.pool)
                .await?;
                let next = last.map(|o| to_u64(o + 1)).transpose()?.unwrap_or(0);
                ends.insert((topic.clone(), partition), next);
            }
        }
        Ok(ends)
    }

    /// Records a new topic; an existing row wins (its partition count is kept).
    pub(crate) async fn insert_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        sqlx::query(
            "INSERT INTO bus_topics (name, partitions) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(topic)
        .bind(i64::from(partitions))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The committed position of `group` on a partition, if it ever committed one.
    pub(crate) async fn committed_offset(
        &self,
        group: &str,
        (topic, partition): &TopicPartition,
    ) -> Result<Option<u64>, BusError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT next_offset FROM bus_offsets WHERE grp = ? AND topic = ? AND partition_id = ?",
        )
        .bind(group)
        .bind(topic)
        .bind(i64::from(*partition))
        .fetch_optional(&self.pool)
        .await?;
        next.map(to_u64).transpose()
    }

    /// Up to `limit` records of a partition, starting at offset `from`.
    pub(crate) async fn fetch(
        &self,
        (topic, partition): &TopicPartition,
        from: u64,
        limit: u32,
    ) -> Result<Vec<Delivery>, BusError> {
        let rows = sqlx::query(
            "SELECT record_offset, record_key, payload, headers FROM bus_records
             WHERE topic = ? AND partition_id = ? AND record_offset >= ?
             ORDER BY record_offset LIMIT ?",
        )
        .bind(topic)
        .bind(i64::from(*partition))
        .bind(to_i64(from)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Delivery {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: to_u64(row.try_get("record_offset")?)?,
                    key: row.try_get("record_key")?,
                    payload: Bytes::from(row.try_get::<Vec<u8>, _>("payload")?),
                    headers: decode_headers(&row.try_get::<Vec<u8>, _>("headers")?)?,
                })
            })
            .collect()
    }

    /// Writes a batch in one transaction.
    pub(crate) async fn write(&self, batch: &[Write<'_>]) -> Result<(), BusError> {
        let has_records = batch.iter().any(|w| matches!(w, Write::Record { .. }));
        let mut conn = self.pool.acquire().await?;
        let mode = if has_records { "FULL" } else { "NORMAL" };
        sqlx::query(&format!("PRAGMA synchronous = {mode}"))
            .execute(&mut *conn)
            .await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for write in batch {
            match write {
                Write::Record {
                    tp: (topic, partition),
                    offset,
                    key,
                    payload,
                    headers,
                } => {
                    sqlx::query(
                        "INSERT INTO bus_records
                         (topic, partition_id, record_offset, record_key, payload, headers)
                         VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(topic)
                    .bind(i64::from(*partition))
                    .bind(to_i64(*offset)?)
                    .bind(*key)
                    .bind(payload.as_ref())
                    .bind(encode_headers(headers))
                    .execute(&mut *tx)
                    .await?;
                }
                Write::Offset {
                    group,
                    tp: (topic, partition),
                    next_offset,
                } => {
                    sqlx::query(
                        "INSERT INTO bus_offsets (grp, topic, partition_id, next_offset)
                         VALUES (?, ?, ?, ?)
                         ON CONFLICT (grp, topic, partition_id)
                         DO UPDATE SET next_offset = excluded.next_offset",
                    )
                    .bind(*group)
                    .bind(topic)
                    .bind(i64::from(*partition))
                    .bind(to_i64(*next_offset)?)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs a trivial query.
    pub(crate) async fn ping(&self) -> Result<(), BusError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Packs headers as repeated `u32 name length, name, u32 value length, value` (little endian).
pub(crate) fn encode_headers(headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let size = headers.iter().map(|(n, v)| 8 + n.len() + v.len()).sum();
    let mut out = Vec::with_capacity(size);
    for (name, value) in headers {
        for part in [name.as_bytes(), value.as_slice()] {
            // Header parts are bounded by the record size, far below 4 GiB.
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// The inverse of [`encode_headers`]; corrupt input is an internal error, not a panic.
pub(crate) fn decode_headers(mut bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, BusError> {
    fn take<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], BusError> {
        let corrupt = || BusError::Internal("corrupt header block in embedded log".into());
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(corrupt());
        }
        let (part, rest) = rest.split_at(len);
        *bytes = rest;
        Ok(part)
    }
    let mut headers = Vec::new();
    while !bytes.is_empty() {
        let name = String::from_utf8(take(&mut bytes)?.to_vec())
            .map_err(|_| BusError::Internal("header name is not utf-8".into()))?;
        headers.push((name, take(&mut bytes)?.to_vec()));
    }
    Ok(headers)
}

fn to_u64(v: i64) -> Result<u64, BusError> {
    u64::try_from(v).map_err(|_| BusError::Internal(format!("negative offset {v} in embedded log")))
}

fn to_u32(v: i64) -> Result<u32, BusError> {
    u32::try_from(v).map_err(|_| BusError::Internal(format!("bad partition count {v}")))
}

fn to_i64(v: u64) -> Result<i64, BusError> {
    i64::try_from(v).map_err(|_| BusError::InvalidArgument(format!("offset {v} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let headers = vec![
            ("traceparent".to_owned(), b"00-abc".to_vec()),
            ("empty".to_owned(), Vec::new()),
            ("traceparent".to_owned(), vec![0, 255]),
        ];
        assert_eq!(decode_headers(&encode_headers(&headers)), Ok(headers));
        assert_eq!(decode_headers(&[]), Ok(vec![]));
    }

    #[test]
    fn corrupt_headers_are_an_error() {
        let mut bytes = encode_headers(&[("a".into(), b"xyz".to_vec())]);
        bytes.pop();
        assert!(decode_headers(&bytes).is_err());
        assert!(decode_headers(&[1, 0]).is_err());
    }
}
