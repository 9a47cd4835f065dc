//! The single writer of the embedded log.
//!
//! Every append and every offset commit goes through one task, which gives
//! offsets without locks and batches whatever queued up meanwhile into one
//! atomic storage write (group commit): with a file, one fsync per batch
//! instead of one per record. A publish is answered only after its batch
//! committed, and consumers are woken only then, so nobody reads a record
//! that could still vanish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::TopicPartition;
use super::storage::{Storage, Write};
use crate::BusError;

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 512;

/// One queued write and where to send its outcome.
pub(crate) enum WriteOp {
    /// Append a record; answered with its offset.
    Append {
        /// Destination partition.
        tp: TopicPartition,
        /// Record key.
        key: Vec<u8>,
        /// Record payload.
        payload: Bytes,
        /// Record headers.
        headers: Vec<(String, Vec<u8>)>,
        /// Receives the assigned offset once durable.
        reply: oneshot::Sender<Result<u64, BusError>>,
    },
    /// Store a group's committed position.
    Commit {
        /// Consumer group.
        group: String,
        /// Committed partition.
        tp: TopicPartition,
        /// Next offset the group will read.
        next_offset: u64,
        /// Receives the outcome once stored.
        reply: oneshot::Sender<Result<(), BusError>>,
    },
}

/// Handles the writer shares with readers.
pub(crate) struct WriterState {
    /// Where batches go.
    pub(crate) storage: Storage,
    /// Next offset per partition, advanced only after a batch is stored.
    pub(crate) ends: Arc<Mutex<HashMap<TopicPartition, u64>>>,
    /// Bumped after every batch that appended records.
    pub(crate) appended: watch::Sender<u64>,
}

/// Runs until every sender of `ops` is dropped (the bus and its subscriptions are gone).
pub(crate) async fn run(state: WriterState, mut ops: mpsc::Receiver<WriteOp>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while ops.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Offsets are provisional until the batch is stored.
        let mut next = lock(&state.ends).clone();
        let mut offsets = Vec::new();
        let writes: Vec<Write<'_>> = batch
            .iter()
            .map(|op| match op {
                WriteOp::Append {
                    tp,
                    key,
                    payload,
                    headers,
                    ..
                } => {
                    let slot = next.entry(tp.clone()).or_insert(0);
                    let offset = *slot;
                    *slot += 1;
                    offsets.push(offset);
                    Write::Record {
                        tp,
                        offset,
                        key,
                        payload,
                        headers,
                    }
                }
                WriteOp::Commit {
                    group,
                    tp,
                    next_offset,
                    ..
                } => Write::Offset {
                    group,
                    tp,
                    next_offset: *next_offset,
                },
            })
            .collect();
        let stored = state.storage.write(&writes).await;
        drop(writes);
        if let Err(err) = &stored {
            tracing::error!(error = %err, ops = batch.len(), "embedded bus write failed");
        }
        let appended = !offsets.is_empty();
        if stored.is_ok() && appended {
            *lock(&state.ends) = next;
        }
        // Answer in queue order; offsets were taken in the same order above.
        let mut offsets = offsets.into_iter();
        for op in batch.drain(..) {
            match op {
                WriteOp::Append { reply, .. } => {
                    let offset = offsets.next();
                    let outcome = match (&stored, offset) {
                        (Ok(()), Some(offset)) => Ok(offset),
                        (Err(err), _) => Err(err.clone()),
                        (Ok(()), None) => Err(BusError::Internal("lost an offset".into())),
                    };
                    let _ = reply.send(outcome);
                }
                WriteOp::Commit { reply, .. } => {
                    let _ = reply.send(stored.clone());
                }
            }
        }
        if stored.is_ok() && appended {
            state.appended.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
    tracing::debug!("embedded bus writer stopped");
}

/// Locks a std mutex, recovering the data if a holder panicked (the maps stay consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
