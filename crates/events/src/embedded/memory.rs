//! The `memory://` storage: the log in plain maps behind one mutex.
//!
//! Operations are short and never await, so a std mutex is enough, and no
//! cancelled future can leave it half-written.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use super::TopicPartition;
use super::storage::Write;
use super::writer::lock;
use crate::{BusError, Delivery};

/// One stored record; its partition and offset are its position in the maps.
struct Stored {
    key: Vec<u8>,
    payload: Bytes,
    headers: Vec<(String, Vec<u8>)>,
}

#[derive(Default)]
struct State {
    topics: HashMap<String, u32>,
    records: HashMap<TopicPartition, Vec<Stored>>,
    /// Committed next offset per (group, partition).
    offsets: HashMap<(String, TopicPartition), u64>,
}

/// An in-process log, lost when the bus is dropped.
#[derive(Default)]
pub(crate) struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub(crate) fn topics(&self) -> HashMap<String, u32> {
        lock(&self.state).topics.clone()
    }

    pub(crate) fn ends(&self) -> HashMap<TopicPartition, u64> {
        lock(&self.state)
            .records
            .iter()
            .map(|(tp, records)| (tp.clone(), records.len() as u64))
            .collect()
    }

    pub(crate) fn insert_topic(&self, topic: &str, partitions: u32) {
        lock(&self.state)
            .topics
            .entry(topic.to_owned())
            .or_insert(partitions);
    }

    pub(crate) fn committed_offset(&self, group: &str, tp: &TopicPartition) -> Option<u64> {
        lock(&self.state)
            .offsets
            .get(&(group.to_owned(), tp.clone()))
            .copied()
    }

    pub(crate) fn fetch(&self, tp: &TopicPartition, from: u64, limit: u32) -> Vec<Delivery> {
        let state = lock(&self.state);
        let Some(records) = state.records.get(tp) else {
            return Vec::new();
        };
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(records.len());
        let end = start.saturating_add(limit as usize).min(records.len());
        records[start..end]
            .iter()
            .zip(from..)
            .map(|(r, offset)| Delivery {
                topic: tp.0.clone(),
                partition: tp.1,
                offset,
                key: r.key.clone(),
                payload: r.payload.clone(),
                headers: r.headers.clone(),
            })
            .collect()
    }

    pub(crate) fn write(&self, batch: &[Write<'_>]) -> Result<(), BusError> {
        let mut state = lock(&self.state);
        // Check first, so a bad batch changes nothing.
        let mut ends: HashMap<&TopicPartition, u64> = HashMap::new();
        for write in batch {
            if let Write::Record { tp, offset, .. } = write {
                let end = ends
                    .entry(tp)
                    .or_insert_with(|| state.records.get(*tp).map_or(0, |r| r.len() as u64));
                if *offset != *end {
                    return Err(BusError::Internal(format!(
                        "offset {offset} is not the end {end} of {}/{}",
                        tp.0, tp.1
                    )));
                }
                *end += 1;
            }
        }
        for write in batch {
            match write {
                Write::Record {
                    tp,
                    key,
                    payload,
                    headers,
                    ..
                } => state
                    .records
                    .entry((*tp).clone())
                    .or_default()
                    .push(Stored {
                        key: key.to_vec(),
                        payload: (*payload).clone(),
                        headers: headers.to_vec(),
                    }),
                Write::Offset {
                    group,
                    tp,
                    next_offset,
                } => {
                    state
                        .offsets
                        .insert(((*group).to_owned(), (*tp).clone()), *next_offset);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_fetches_and_rejects_gaps() {
        let store = MemoryStore::default();
        let tp = ("t".to_owned(), 0);
        let payload = Bytes::from_static(b"p");
        let record = |offset| Write::Record {
            tp: &tp,
            offset,
            key: b"k",
            payload: &payload,
            headers: &[],
        };
        assert!(store.write(&[record(0), record(1)]).is_ok());
        assert!(store.write(&[record(3)]).is_err(), "gap refused");
        let fetched = store.fetch(&tp, 1, 10);
        assert_eq!(fetched.len(), 1);
        assert_eq!(fetched[0].offset, 1);
        assert!(store.fetch(&tp, 7, 10).is_empty());
        assert_eq!(store.ends().get(&tp), Some(&2));
    }
}
