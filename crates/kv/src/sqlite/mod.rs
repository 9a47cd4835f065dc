//! The embedded backend: one SQLite file (or memory), one SQL table per table.
//!
//! Writes go through a single writer thread ([`writer`]) that owns the only
//! write connection and group-commits whatever queued up while the previous
//! commit synced: conditional writes and increments stay atomic without locks,
//! `SQLITE_BUSY` never happens inside one process, and concurrent writers
//! share one `fsync`. The file runs in WAL mode with `synchronous = FULL`: an
//! acknowledged write survives a crash. Reads of a file run on a small pool
//! of read-only connections ([`readers`]) and never wait behind a commit; an
//! in-memory store has one connection, so its reads queue on the writer.
//! Expired rows are hidden from reads and purged by `ensure_tables`.

mod ops;
mod read;
mod readers;
mod write;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

pub(crate) use self::ops::{Done, Op, apply};
use self::readers::Readers;
use self::writer::Job;
use crate::cursor::Position;
use crate::model::{Condition, Item, TableSpec, TxOp};
use crate::query::Query;
use crate::store::{Backend, Fetched, Resolved, TableRef};
use crate::{KvError, KvOptions};

/// Metric names of the embedded store.
pub(crate) mod metrics {
    /// Writes committed together by one sync (histogram).
    pub const BATCH_SIZE: &str = "chatflow_kv_sqlite_batch_size";
    /// Time to apply and commit one batch, sync included (histogram).
    pub const COMMIT_SECONDS: &str = "chatflow_kv_sqlite_commit_seconds";
}

/// A SQLite database holding every table of one store.
#[derive(Debug)]
pub(crate) struct SqliteBackend {
    writer: mpsc::Sender<Job>,
    /// `None` for an in-memory store: its reads go to the writer.
    readers: Option<Readers>,
}

impl SqliteBackend {
    /// Opens (creating when missing) `sqlite://path` or `sqlite::memory:`.
    pub(crate) async fn connect(url: &str, options: &KvOptions) -> Result<Self, KvError> {
        let path = url
            .trim_start_matches("sqlite:")
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let in_memory = path.is_empty() || path == ":memory:";
        let timeout = options.op_timeout;
        let conn = tokio::task::spawn_blocking(move || {
            if in_memory {
                let conn = Connection::open_in_memory()?;
                configure(&conn, timeout)?;
                return Ok(conn);
            }
            if let Some(parent) = Path::new(&path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    KvError::Unavailable(format!(
                        "cannot create directory {}: {e}",
                        parent.display()
                    ))
                })?;
            }
            let conn = Connection::open(&path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            configure(&conn, timeout)?;
            Ok::<_, KvError>(conn)
        })
        .await
        .map_err(|e| KvError::Internal(format!("opening the store panicked: {e}")))??;
        let readers = match in_memory {
            true => None,
            false => Some(Readers::new(
                conn.path().unwrap_or_default().into(),
                timeout,
            )),
        };
        let (writer, jobs) = mpsc::channel(writer::QUEUE);
        std::thread::Builder::new()
            .name("chatflow-kv-writer".into())
            .spawn(move || writer::run(conn, jobs))
            .map_err(|e| KvError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { writer, readers })
    }

    /// Queues `op` on the writer and waits until it is committed.
    async fn write(&self, op: Op) -> Result<Done, KvError> {
        let (reply, outcome) = oneshot::channel();
        let gone = || KvError::Unavailable("the embedded store is closed".into());
        self.writer
            .send(Job { op, reply })
            .await
            .map_err(|_| gone())?;
        outcome.await.map_err(|_| gone())?
    }

    /// Runs a read on a read connection, or on the writer when in memory.
    async fn read(&self, op: Op) -> Result<Done, KvError> {
        match &self.readers {
            Some(readers) => readers.run(op).await,
            None => self.write(op).await,
        }
    }
}

/// Settings every connection of a store shares.
pub(super) fn configure(conn: &Connection, timeout: std::time::Duration) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(timeout)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

/// Maps a driver error, recognising a missing table.
pub(super) fn db_error(table: &TableRef) -> impl Fn(rusqlite::Error) -> KvError + '_ {
    move |err| match &err {
        rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.contains("no such table") => {
            KvError::TableNotFound(table.name.clone())
        }
        _ => KvError::from(err),
    }
}

/// The reply a job was expected to produce, or an internal error.
fn expect<T>(done: Done, pick: impl FnOnce(Done) -> Option<T>) -> Result<T, KvError> {
    pick(done).ok_or_else(|| KvError::Internal("embedded store answered another request".into()))
}

#[async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn ensure_table(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError> {
        let op = Op::EnsureTable {
            table: table.clone(),
            spec: spec.clone(),
        };
        self.write(op).await.map(drop)
    }

    async fn drop_table(&self, table: &TableRef) -> Result<(), KvError> {
        self.write(Op::DropTable(table.clone())).await.map(drop)
    }

    async fn put(
        &self,
        table: &TableRef,
        item: Item,
        condition: Condition,
    ) -> Result<u64, KvError> {
        let op = Op::Put {
            table: table.clone(),
            item,
            condition,
        };
        expect(self.write(op).await?, Done::version)
    }

    async fn get(&self, table: &TableRef, pk: &str, sk: &str) -> Result<Option<Item>, KvError> {
        let op = Op::Get {
            table: table.clone(),
            pk: pk.to_owned(),
            sk: sk.to_owned(),
        };
        expect(self.read(op).await?, Done::item)
    }

    async fn query(
        &self,
        table: &TableRef,
        index: bool,
        query: &Query,
        start: Option<Position>,
    ) -> Result<Fetched, KvError> {
        let op = Op::Query {
            table: table.clone(),
            index,
            query: query.clone(),
            start,
        };
        expect(self.read(op).await?, Done::page)
    }

    async fn delete(
        &self,
        table: &TableRef,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError> {
        let op = Op::Delete {
            table: table.clone(),
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            condition,
        };
        self.write(op).await.map(drop)
    }

    async fn increment(
        &self,
        table: &TableRef,
        key: (&str, &str),
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError> {
        let op = Op::Increment {
            table: table.clone(),
            pk: key.0.to_owned(),
            sk: key.1.to_owned(),
            counter: counter.to_owned(),
            delta,
        };
        expect(self.write(op).await?, Done::value)
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<(), KvError> {
        let op = Op::BatchPut {
            table: table.clone(),
            items,
        };
        self.write(op).await.map(drop)
    }

    async fn transact(&self, ops: Vec<Resolved<TxOp>>) -> Result<(), KvError> {
        self.write(Op::Transact(ops)).await.map(drop)
    }
}
