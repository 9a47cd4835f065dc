//! Where the embedded log lives: a SQLite file (`sqlite://`) or process
//! memory (`memory://`). Everything above this module is shared.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::TopicPartition;
use super::memory::MemoryStore;
use super::sqlite::SqliteStore;
use crate::{BusError, Delivery};

/// One write of a batch, with its offset already assigned by the writer.
pub(crate) enum Write<'a> {
    /// Append a record at `offset` (always the partition's current end).
    Record {
        /// Destination partition.
        tp: &'a TopicPartition,
        /// Position of the record.
        offset: u64,
        /// Record key.
        key: &'a [u8],
        /// Record payload.
        payload: &'a Bytes,
        /// Record headers.
        headers: &'a [(String, Vec<u8>)],
    },
    /// Store a group's committed position.
    Offset {
        /// Consumer group.
        group: &'a str,
        /// Committed partition.
        tp: &'a TopicPartition,
        /// Next offset the group will read.
        next_offset: u64,
    },
}

/// The persistence behind one embedded bus.
#[derive(Clone)]
pub(crate) enum Storage {
    /// A SQLite file, durable across restarts.
    Sqlite(SqliteStore),
    /// Plain maps, lost with the process.
    Memory(Arc<MemoryStore>),
}

impl Storage {
    /// Every topic and its partition count.
    pub(crate) async fn load_topics(&self) -> Result<HashMap<String, u32>, BusError> {
        match self {
            Self::Sqlite(s) => s.load_topics().await,
            Self::Memory(m) => Ok(m.topics()),
        }
    }

    /// The next offset to assign in every partition of `topics`.
    pub(crate) async fn load_ends(
        &self,
        topics: &HashMap<String, u32>,
    ) -> Result<HashMap<TopicPartition, u64>, BusError> {
        match self {
            Self::Sqlite(s) => s.load_ends(topics).await,
            Self::Memory(m) => Ok(m.ends()),
        }
    }

    /// Records a new topic; an existing one keeps its partition count.
    pub(crate) async fn insert_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        match self {
            Self::Sqlite(s) => s.insert_topic(topic, partitions).await,
            Self::Memory(m) => {
                m.insert_topic(topic, partitions);
                Ok(())
            }
        }
    }

    /// The committed position of `group` on a partition, if any.
    pub(crate) async fn committed_offset(
        &self,
        group: &str,
        tp: &TopicPartition,
    ) -> Result<Option<u64>, BusError> {
        match self {
            Self::Sqlite(s) => s.committed_offset(group, tp).await,
            Self::Memory(m) => Ok(m.committed_offset(group, tp)),
        }
    }

    /// Up to `limit` records of a partition from offset `from`.
    pub(crate) async fn fetch(
        &self,
        tp: &TopicPartition,
        from: u64,
        limit: u32,
    ) -> Result<Vec<Delivery>, BusError> {
        match self {
            Self::Sqlite(s) => s.fetch(tp, from, limit).await,
            Self::Memory(m) => Ok(m.fetch(tp, from, limit)),
        }
    }

    /// Applies a batch atomically: all of it is stored, or none.
    pub(crate) async fn write(&self, batch: &[Write<'_>]) -> Result<(), BusError> {
        match self {
            Self::Sqlite(s) => s.write(batch).await,
            Self::Memory(m) => m.write(batch),
        }
    }

    /// Checks the storage answers.
    pub(crate) async fn ping(&self) -> Result<(), BusError> {
        match self {
            Self::Sqlite(s) => s.ping().await,
            Self::Memory(_) => Ok(()),
        }
    }
}
