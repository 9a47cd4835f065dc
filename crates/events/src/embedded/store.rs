//! The SQLite side of the embedded bus: schema, queries and the header codec.
//!
//! One file (or one in-memory database) holds three tables: topics with their
//! partition counts, the records of every partition, and the committed offsets
//! of every consumer group. Everything is keyed so that the hot queries (read
//! a partition from an offset, read the last offset) walk a primary key.

use std::collections::HashMap;

use bytes::Bytes;
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::{BusError, Delivery};

/// A (topic, partition) pair; the key of every per-partition map.
pub(crate) type TopicPartition = (String, u32);

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

/// Creates the tables if this is a new database.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), BusError> {
    for statement in SCHEMA {
        sqlx::query(statement).execute(pool).await?;
    }
    Ok(())
}

/// Every topic and its partition count.
pub(crate) async fn load_topics(pool: &SqlitePool) -> Result<HashMap<String, u32>, BusError> {
    let rows = sqlx::query("SELECT name, partitions FROM bus_topics")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("name")?, to_u32(row.try_get("partitions")?)?)))
        .collect()
}

/// The next offset to assign in every partition of `topics` (0 when empty).
pub(crate) async fn load_ends(
    pool: &SqlitePool,
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
            .fetch_one(pool)
            .await?;
            let next = last.map(|o| to_u64(o + 1)).transpose()?.unwrap_or(0);
            ends.insert((topic.clone(), partition), next);
        }
    }
    Ok(ends)
}

/// Records a new topic; an existing row wins (its partition count is kept).
pub(crate) async fn insert_topic(
    pool: &SqlitePool,
    topic: &str,
    partitions: u32,
) -> Result<(), BusError> {
    sqlx::query(
        "INSERT INTO bus_topics (name, partitions) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(topic)
    .bind(i64::from(partitions))
    .execute(pool)
    .await?;
    Ok(())
}

/// Appends one record at `offset` (the writer task owns offset assignment).
pub(crate) async fn insert_record(
    conn: &mut SqliteConnection,
    (topic, partition): &TopicPartition,
    offset: u64,
    key: &[u8],
    payload: &[u8],
    headers: &[u8],
) -> Result<(), BusError> {
    sqlx::query(
        "INSERT INTO bus_records (topic, partition_id, record_offset, record_key, payload, headers)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(topic)
    .bind(i64::from(*partition))
    .bind(to_i64(offset)?)
    .bind(key)
    .bind(payload)
    .bind(headers)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a group's committed position (the next offset to process).
pub(crate) async fn upsert_offset(
    conn: &mut SqliteConnection,
    group: &str,
    (topic, partition): &TopicPartition,
    next_offset: u64,
) -> Result<(), BusError> {
    sqlx::query(
        "INSERT INTO bus_offsets (grp, topic, partition_id, next_offset) VALUES (?, ?, ?, ?)
         ON CONFLICT (grp, topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset",
    )
    .bind(group)
    .bind(topic)
    .bind(i64::from(*partition))
    .bind(to_i64(next_offset)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// The committed position of `group` on a partition, if it ever committed one.
pub(crate) async fn committed_offset(
    pool: &SqlitePool,
    group: &str,
    (topic, partition): &TopicPartition,
) -> Result<Option<u64>, BusError> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT next_offset FROM bus_offsets WHERE grp = ? AND topic = ? AND partition_id = ?",
    )
    .bind(group)
    .bind(topic)
    .bind(i64::from(*partition))
    .fetch_optional(pool)
    .await?;
    next.map(to_u64).transpose()
}

/// Up to `limit` records of a partition, starting at offset `from`.
pub(crate) async fn fetch(
    pool: &SqlitePool,
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
    .fetch_all(pool)
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
