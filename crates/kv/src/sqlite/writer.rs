//! The single writer of an embedded store, with group commit.
//!
//! One OS thread owns the only write connection. Callers queue jobs; the
//! thread takes whatever has queued up (up to [`MAX_BATCH`]), applies each
//! job inside its own savepoint of one transaction, and commits the batch
//! with a single sync. A job whose condition fails rolls back to its
//! savepoint and leaves the rest of the batch alone, so callers see exactly
//! the outcome they would have seen alone. Every caller is answered only
//! after the commit that holds its write is durable: an acknowledged write
//! survives a crash, and N concurrent writers cost one `fsync`, not N.
//!
//! There is no timed window: while one batch syncs, the next one queues, so
//! batches grow with load by themselves and a lone write waits for nobody.

use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{Done, Op, apply, metrics as m};
use crate::KvError;
use crate::model::now_unix;

/// Most jobs folded into one transaction.
pub(super) const MAX_BATCH: usize = 256;

/// Jobs waiting for the writer before callers are held back.
pub(super) const QUEUE: usize = 4096;

/// One queued job and where its outcome goes.
pub(super) struct Job {
    /// What to do.
    pub(super) op: Op,
    /// Receives the outcome once the batch holding it is committed.
    pub(super) reply: oneshot::Sender<Result<Done, KvError>>,
}

/// Runs on its own thread until every sender is dropped (the store is gone).
pub(super) fn run(conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, &mut batch);
    }
    tracing::debug!("embedded key-value writer stopped");
}

/// Applies a batch in one transaction and answers every job after the commit.
fn commit_batch(conn: &Connection, batch: &mut Vec<Job>) {
    let started = Instant::now();
    let now = now_unix();
    // Reads (memory stores only route them here) see committed state only.
    let (reads, writes): (Vec<Job>, Vec<Job>) = batch.drain(..).partition(|job| job.op.is_read());
    for job in reads {
        let outcome = apply(conn, &job.op, now);
        let _ = job.reply.send(outcome);
    }
    if writes.is_empty() {
        return;
    }
    if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = KvError::from(err);
        for job in writes {
            let _ = job.reply.send(Err(clone_error(&err)));
        }
        return;
    }
    let mut outcomes = Vec::with_capacity(writes.len());
    for job in &writes {
        outcomes.push(in_savepoint(conn, &job.op, now));
    }
    let committed = conn.execute_batch("COMMIT");
    if let Err(err) = committed {
        // Nothing of the batch is stored: every write fails, typed as unavailable.
        let _ = conn.execute_batch("ROLLBACK");
        let err = KvError::Unavailable(format!("commit failed: {err}"));
        for outcome in &mut outcomes {
            if outcome.is_ok() {
                *outcome = Err(clone_error(&err));
            }
        }
    }
    ::metrics::histogram!(m::BATCH_SIZE).record(writes.len() as f64);
    ::metrics::histogram!(m::COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
    for (job, outcome) in writes.into_iter().zip(outcomes) {
        let _ = job.reply.send(outcome);
    }
}

/// Applies one job so that a failure undoes exactly its own changes.
fn in_savepoint(conn: &Connection, op: &Op, now: i64) -> Result<Done, KvError> {
    conn.execute_batch("SAVEPOINT job")?;
    let outcome = apply(conn, op, now);
    let undo = if outcome.is_err() {
        "ROLLBACK TO job; RELEASE job"
    } else {
        "RELEASE job"
    };
    match conn.execute_batch(undo) {
        Ok(()) => outcome,
        Err(err) => Err(KvError::from(err)),
    }
}

/// A copy of an error for each caller of a failed batch.
fn clone_error(err: &KvError) -> KvError {
    match err {
        KvError::Unavailable(msg) => KvError::Unavailable(msg.clone()),
        other => KvError::Internal(other.to_string()),
    }
}
