//! Read connections of a store file: reads never queue behind the writer.
//!
//! WAL lets readers see the last commit while the writer works on the next
//! one. Connections are opened on demand, at most [`MAX_READERS`] at a time,
//! kept idle for reuse, and used on tokio's blocking pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::{Done, Op, apply, configure};
use crate::KvError;
use crate::model::now_unix;

/// Most read connections open at once.
const MAX_READERS: usize = 4;

/// A bounded pool of read-only connections to one file.
#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    timeout: Duration,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    /// A pool for the file at `path`; nothing is opened yet.
    pub(super) fn new(path: PathBuf, timeout: Duration) -> Self {
        Self {
            path,
            timeout,
            idle: Arc::default(),
            permits: Arc::new(Semaphore::new(MAX_READERS)),
        }
    }

    /// Runs the read `op` on a pooled connection.
    pub(super) async fn run(&self, op: Op) -> Result<Done, KvError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| KvError::Unavailable("the embedded store is closed".into()))?;
        let (idle, path, timeout) = (self.idle.clone(), self.path.clone(), self.timeout);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = idle.lock().pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open(&path, timeout)?,
            };
            let outcome = apply(&conn, &op, now_unix());
            idle.lock().push(conn);
            outcome
        })
        .await
        .map_err(|e| KvError::Internal(format!("a read panicked: {e}")))?
    }
}

/// Opens a connection that can only read.
fn open(path: &PathBuf, timeout: Duration) -> Result<Connection, KvError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, timeout)?;
    Ok(conn)
}
