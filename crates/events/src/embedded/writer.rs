//! The single writer of the embedded log.
//!
//! Every append and every offset commit goes through one task, which gives
//! offsets without locks and batches whatever queued up meanwhile into one
//! SQLite transaction (group commit): with a file, an fsync per batch
//! instead of one per record. A publish is answered only after its batch
//! committed, and consumers are woken only then, so nobody reads a record
//! that could still vanish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot, watch};

use super::store::{self, TopicPartition};
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
        /// Already encoded headers.
        headers: Vec<u8>,
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
    /// The database.
    pub(crate) pool: SqlitePool,
    /// Next offset per partition, advanced only after a commit.
    pub(crate) ends: Arc<Mutex<HashMap<TopicPartition, u64>>>,
    /// Bumped after every batch that appended records.
    pub(crate) appended: watch::Sender<u64>,
    /// Whether appends must reach the disk before they are acknowledged (file mode).
    pub(crate) fsync_appends: bool,
}

/// Runs until every sender of `ops` is dropped (the bus and its subscriptions are gone).
pub(crate) async fn run(state: WriterState, mut ops: mpsc::Receiver<WriteOp>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while ops.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let has_appends = batch.iter().any(|op| matches!(op, WriteOp::Append { .. }));
        // Offsets are provisional until the transaction commits.
        let mut next = lock(&state.ends).clone();
        let result = apply(&state, &batch, &mut next, has_appends).await;
        if let Err(err) = &result {
            tracing::error!(error = %err, ops = batch.len(), "embedded bus write failed");
        }
        let committed = result.is_ok();
        if committed && has_appends {
            *lock(&state.ends) = next;
        }
        // Answer in queue order; offsets were taken in the same order in `apply`.
        let mut offsets = result.unwrap_or_default().into_iter();
        for op in batch.drain(..) {
            match op {
                WriteOp::Append { reply, .. } => {
                    let outcome = offsets
                        .next()
                        .filter(|_| committed)
                        .ok_or_else(|| BusError::Unavailable("embedded log write failed".into()));
                    let _ = reply.send(outcome);
                }
                WriteOp::Commit { reply, .. } => {
                    let outcome = if committed {
                        Ok(())
                    } else {
                        Err(BusError::Unavailable(
                            "embedded offset commit failed".into(),
                        ))
                    };
                    let _ = reply.send(outcome);
                }
            }
        }
        if committed && has_appends {
            state.appended.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
    tracing::debug!("embedded bus writer stopped");
}

/// Writes one batch in one transaction; returns the offsets of its appends, in order.
async fn apply(
    state: &WriterState,
    batch: &[WriteOp],
    next: &mut HashMap<TopicPartition, u64>,
    has_appends: bool,
) -> Result<Vec<u64>, BusError> {
    let mut conn = state.pool.acquire().await?;
    if state.fsync_appends {
        // Records are acknowledged as durable, so they wait for the fsync; a
        // commit-only batch may be lost to a power cut, which only means redelivery.
        let mode = if has_appends { "FULL" } else { "NORMAL" };
        sqlx::query(&format!("PRAGMA synchronous = {mode}"))
            .execute(&mut *conn)
            .await?;
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let mut offsets = Vec::new();
    for op in batch {
        match op {
            WriteOp::Append {
                tp,
                key,
                payload,
                headers,
                ..
            } => {
                let slot = next.entry(tp.clone()).or_insert(0);
                store::insert_record(&mut tx, tp, *slot, key, payload, headers).await?;
                offsets.push(*slot);
                *slot += 1;
            }
            WriteOp::Commit {
                group,
                tp,
                next_offset,
                ..
            } => store::upsert_offset(&mut tx, group, tp, *next_offset).await?,
        }
    }
    tx.commit().await?;
    Ok(offsets)
}

/// Locks a std mutex, recovering the data if a holder panicked (the maps stay consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
