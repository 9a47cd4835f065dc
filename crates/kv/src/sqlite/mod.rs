//! The embedded backend: one SQLite file (or memory), one SQL table per table.
//!
//! A single connection serialises every call, so conditional writes and
//! increments are atomic without locks and `SQLITE_BUSY` never happens inside
//! one process. The file runs in WAL mode with `synchronous = FULL`: an
//! acknowledged write survives a crash. Expired rows are hidden from reads and
//! purged by `ensure_tables` (at start-up).

mod read;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::cursor::Position;
use crate::model::{Condition, Item, TableSpec, TxOp, now_unix};
use crate::query::Query;
use crate::store::{Backend, Fetched, Resolved, TableRef};
use crate::{KvError, KvOptions};

/// A SQLite database holding every table of one store.
#[derive(Debug)]
pub(crate) struct SqliteBackend {
    pool: SqlitePool,
    op_timeout: Duration,
}

impl SqliteBackend {
    /// Opens (creating when missing) `sqlite://path` or `sqlite::memory:`.
    pub(crate) async fn connect(url: &str, options: &KvOptions) -> Result<Self, KvError> {
        let path = url
            .trim_start_matches("sqlite:")
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default();
        let in_memory = path.is_empty() || path == ":memory:";
        if !in_memory
            && let Some(parent) = Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                KvError::Unavailable(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.op_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(options.op_timeout)
            // An in-memory database lives as long as its connection: keep it.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        Ok(Self {
            pool,
            op_timeout: options.op_timeout,
        })
    }

    /// Creates the table and its index when missing, and purges expired rows.
    async fn create(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError> {
        let mut conn = self.pool.acquire().await?;
        let index = index_name(table);
        let (tables, indexes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE type = 'table' AND name = ?1), \
                    COUNT(*) FILTER (WHERE type = 'index' AND name = ?2) FROM sqlite_master",
        )
        .bind(&table.full)
        .bind(&index)
        .fetch_one(&mut *conn)
        .await?;
        if tables > 0 && (indexes > 0) != spec.secondary_index {
            return Err(KvError::invalid(format!(
                "table {:?} exists with a different secondary index",
                table.name
            )));
        }
        let t = &table.full;
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS \"{t}\" (pk TEXT NOT NULL, sk TEXT NOT NULL, \
             version INTEGER NOT NULL, data BLOB NOT NULL, expires_at INTEGER, \
             gsi1pk TEXT, gsi1sk TEXT, counters TEXT, PRIMARY KEY (pk, sk)) WITHOUT ROWID"
        ))
        .execute(&mut *conn)
        .await?;
        if spec.secondary_index {
            sqlx::query(&format!(
                "CREATE INDEX IF NOT EXISTS \"{index}\" ON \"{t}\" (gsi1pk, gsi1sk, pk, sk) \
                 WHERE gsi1pk IS NOT NULL"
            ))
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(&format!("DELETE FROM \"{t}\" WHERE expires_at <= ?1"))
            .bind(now_unix())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Maps a driver error, recognising a missing table.
pub(super) fn db_error(table: &TableRef) -> impl Fn(sqlx::Error) -> KvError + '_ {
    move |err| match &err {
        sqlx::Error::Database(db) if db.message().contains("no such table") => {
            KvError::TableNotFound(table.name.clone())
        }
        _ => KvError::from(err),
    }
}

/// The name of a table's secondary index.
fn index_name(table: &TableRef) -> String {
    format!("{}__gsi1", table.full)
}

#[async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn ensure_table(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError> {
        tokio::time::timeout(self.op_timeout, self.create(table, spec))
            .await
            .map_err(|_| KvError::Timeout(self.op_timeout))?
    }

    async fn drop_table(&self, table: &TableRef) -> Result<(), KvError> {
        sqlx::query(&format!("DROP TABLE IF EXISTS \"{}\"", table.full))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn put(
        &self,
        table: &TableRef,
        item: Item,
        condition: Condition,
    ) -> Result<u64, KvError> {
        let mut conn = self.pool.acquire().await?;
        write::put(&mut conn, table, &item, condition, now_unix()).await
    }

    async fn get(&self, table: &TableRef, pk: &str, sk: &str) -> Result<Option<Item>, KvError> {
        read::get(&self.pool, table, pk, sk, now_unix()).await
    }

    async fn query(
        &self,
        table: &TableRef,
        index: bool,
        query: &Query,
        start: Option<Position>,
    ) -> Result<Fetched, KvError> {
        read::query(&self.pool, table, index, query, start, now_unix()).await
    }

    async fn delete(
        &self,
        table: &TableRef,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError> {
        let mut conn = self.pool.acquire().await?;
        write::delete(&mut conn, table, (pk, sk), condition, now_unix()).await
    }

    async fn increment(
        &self,
        table: &TableRef,
        key: (&str, &str),
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError> {
        let mut tx = self.pool.begin().await?;
        let value = write::increment(&mut tx, table, key, counter, delta, now_unix()).await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<(), KvError> {
        let mut tx = self.pool.begin().await?;
        for item in &items {
            write::put(&mut tx, table, item, Condition::None, 0).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<Resolved<TxOp>>) -> Result<(), KvError> {
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        for (i, op) in ops.iter().enumerate() {
            let table = &op.table;
            let outcome = match &op.value {
                TxOp::Put {
                    item, condition, ..
                } => write::put(&mut tx, table, item, *condition, now)
                    .await
                    .map(drop),
                TxOp::Delete {
                    pk, sk, condition, ..
                } => write::delete(&mut tx, table, (pk, sk), *condition, now).await,
                TxOp::ConditionCheck {
                    pk, sk, condition, ..
                } => write::check(&mut tx, table, (pk, sk), *condition, now).await,
            };
            match outcome {
                Ok(()) => {}
                // Dropping `tx` rolls every earlier op back.
                Err(KvError::ConditionFailed { .. }) => {
                    return Err(KvError::TransactionCanceled {
                        op: i,
                        reason: "ConditionalCheckFailed".into(),
                    });
                }
                Err(other) => return Err(other),
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
