//! The [`KvStore`] trait and the layer every backend sits behind.
//!
//! [`Checked`] applies what is common to all backends — limits, table-name
//! prefixing, cursor validation, the operation timeout, batch chunking — so a
//! backend only implements [`Backend`] on already-valid requests.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::cursor::{self, Position, Scope};
use crate::model::{Condition, Item, TableSpec, TxOp};
use crate::query::{Page, Query};
use crate::{KvError, KvOptions, limits};

/// A key + sort-key store: DynamoDB, or SQLite when embedded.
///
/// Reads never return expired items (`expires_at <= now`), and conditions treat
/// them as absent. Reads of the table are strongly consistent; reads of the
/// secondary index are eventually consistent on DynamoDB. Every call is bounded
/// by [`KvOptions::op_timeout`]; throttling is retried with backoff.
#[async_trait]
pub trait KvStore: Send + Sync + fmt::Debug {
    /// The backend's name as shown in logs and test output: `sqlite` or `dynamodb`.
    fn backend(&self) -> &'static str;

    /// Creates missing tables (idempotent) and waits until they are usable.
    ///
    /// An existing table whose secondary index differs from the spec is an error.
    async fn ensure_tables(&self, tables: &[TableSpec]) -> Result<(), KvError>;

    /// Deletes tables and everything in them; missing tables are ignored.
    async fn drop_tables(&self, tables: &[&str]) -> Result<(), KvError>;

    /// Writes a whole item if `condition` holds and returns the version stored.
    async fn put(&self, table: &str, item: Item, condition: Condition) -> Result<u64, KvError>;

    /// Reads one item; `None` when absent or expired.
    async fn get(&self, table: &str, pk: &str, sk: &str) -> Result<Option<Item>, KvError>;

    /// Reads one page of a partition of the table.
    async fn query(&self, table: &str, query: Query) -> Result<Page, KvError>;

    /// Reads one page of a partition of the secondary index (`query.pk` is a `gsi1pk`).
    async fn query_index(&self, table: &str, query: Query) -> Result<Page, KvError>;

    /// Deletes an item if `condition` holds; deleting an absent item is not an error.
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError>;

    /// Adds `delta` to a counter atomically and returns its new value.
    ///
    /// Creates the item (empty payload) when absent or expired, and bumps its version.
    async fn increment(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError>;

    /// Blind-writes many items, 25 per request; not atomic across requests.
    ///
    /// Each request is bounded by the op timeout on its own; on error, an unknown
    /// subset of the items may have been written (rewriting them is safe).
    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<(), KvError>;

    /// Applies up to 100 ops on distinct items, all or nothing.
    ///
    /// A failed condition yields [`KvError::TransactionCanceled`] naming the op.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), KvError>;
}

/// A table as the caller names it and as the backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    /// The caller's name, used in errors.
    pub name: String,
    /// The prefixed name the backend uses.
    pub full: String,
}

/// A value paired with the table it targets.
#[derive(Debug, Clone)]
pub(crate) struct Resolved<T> {
    /// The target table.
    pub table: TableRef,
    /// The request for it.
    pub value: T,
}

/// What a backend returns for a query: the page's items and whether more follow.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// At most `limit` live items, in order, after the start position.
    pub items: Vec<Item>,
    /// Whether at least one more live item matches after the last one.
    pub more: bool,
}

/// What a backend implements; requests arrive validated and with full table names.
#[async_trait]
pub(crate) trait Backend: Send + Sync + fmt::Debug + 'static {
    fn name(&self) -> &'static str;
    async fn ensure_table(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError>;
    async fn drop_table(&self, table: &TableRef) -> Result<(), KvError>;
    async fn put(&self, table: &TableRef, item: Item, condition: Condition)
    -> Result<u64, KvError>;
    async fn get(&self, table: &TableRef, pk: &str, sk: &str) -> Result<Option<Item>, KvError>;
    async fn query(
        &self,
        table: &TableRef,
        index: bool,
        query: &Query,
        start: Option<Position>,
    ) -> Result<Fetched, KvError>;
    async fn delete(
        &self,
        table: &TableRef,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError>;
    async fn increment(
        &self,
        table: &TableRef,
        key: (&str, &str),
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError>;
    /// At most [`BATCH_SIZE`] items with distinct keys.
    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<(), KvError>;
    async fn transact(&self, ops: Vec<Resolved<TxOp>>) -> Result<(), KvError>;
}

/// Items per batch request (DynamoDB's `BatchWriteItem` limit).
pub(crate) const BATCH_SIZE: usize = 25;

/// The checks and bounds shared by every backend, in front of one of them.
#[derive(Debug)]
pub(crate) struct Checked<B> {
    backend: B,
    prefix: String,
    op_timeout: Duration,
}

impl<B: Backend> Checked<B> {
    /// Wraps a backend with the options' prefix and timeout.
    pub(crate) fn new(backend: B, options: &KvOptions) -> Self {
        Self {
            backend,
            prefix: options.table_prefix.clone(),
            op_timeout: options.op_timeout,
        }
    }

    fn table(&self, name: &str) -> Result<TableRef, KvError> {
        let full = format!("{}{name}", self.prefix);
        limits::table_name(&full)?;
        Ok(TableRef {
            name: name.to_owned(),
            full,
        })
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, KvError>> + Send,
    ) -> Result<T, KvError> {
        tokio::time::timeout(self.op_timeout, call)
            .await
            .map_err(|_| KvError::Timeout(self.op_timeout))?
    }

    async fn page(&self, table: &str, query: Query, index: bool) -> Result<Page, KvError> {
        let table = self.table(table)?;
        limits::query(&query, index)?;
        let scope = Scope {
            table: &table.full,
            index,
            pk: &query.pk,
            direction: query.direction,
        };
        let start = match &query.cursor {
            Some(c) => Some(cursor::checked_position(scope, c, &query)?),
            None => None,
        };
        let fetched = self
            .bounded(self.backend.query(&table, index, &query, start))
            .await?;
        let next = match fetched.items.last() {
            Some(last) if fetched.more => {
                Some(cursor::encode(scope, &cursor::position_of(last, index)?))
            }
            _ => None,
        };
        Ok(Page {
            items: fetched.items,
            next,
        })
    }
}

#[async_trait]
impl<B: Backend> KvStore for Checked<B> {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    async fn ensure_tables(&self, tables: &[TableSpec]) -> Result<(), KvError> {
        for spec in tables {
            let table = self.table(&spec.name)?;
            self.backend.ensure_table(&table, spec).await?;
        }
        Ok(())
    }

    async fn drop_tables(&self, tables: &[&str]) -> Result<(), KvError> {
        for name in tables {
            let table = self.table(name)?;
            self.bounded(self.backend.drop_table(&table)).await?;
        }
        Ok(())
    }

    async fn put(&self, table: &str, item: Item, condition: Condition) -> Result<u64, KvError> {
        let table = self.table(table)?;
        limits::item(&item)?;
        self.bounded(self.backend.put(&table, item, condition))
            .await
    }

    async fn get(&self, table: &str, pk: &str, sk: &str) -> Result<Option<Item>, KvError> {
        let table = self.table(table)?;
        limits::item_key(pk, sk)?;
        self.bounded(self.backend.get(&table, pk, sk)).await
    }

    async fn query(&self, table: &str, query: Query) -> Result<Page, KvError> {
        self.page(table, query, false).await
    }

    async fn query_index(&self, table: &str, query: Query) -> Result<Page, KvError> {
        self.page(table, query, true).await
    }

    async fn delete(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError> {
        let table = self.table(table)?;
        limits::item_key(pk, sk)?;
        limits::delete_condition(condition)?;
        self.bounded(self.backend.delete(&table, pk, sk, condition))
            .await
    }

    async fn increment(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError> {
        let table = self.table(table)?;
        limits::item_key(pk, sk)?;
        limits::counter_name(counter)?;
        self.bounded(self.backend.increment(&table, (pk, sk), counter, delta))
            .await
    }

    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<(), KvError> {
        let table = self.table(table)?;
        for item in &items {
            limits::item(item)?;
        }
        limits::distinct_keys(&items)?;
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<Item> = items.by_ref().take(BATCH_SIZE).collect();
            self.bounded(self.backend.batch_put(&table, chunk)).await?;
        }
        Ok(())
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), KvError> {
        if ops.is_empty() {
            return Ok(());
        }
        let ops = ops
            .into_iter()
            .map(|op| {
                let table = self.table(op.target().0)?;
                Ok(Resolved { table, value: op })
            })
            .collect::<Result<Vec<_>, KvError>>()?;
        limits::transaction(&ops)?;
        self.bounded(self.backend.transact(ops)).await
    }
}
