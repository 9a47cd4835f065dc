//! The requests the embedded store executes, and how each runs on a
//! connection: one place that both the writer thread and the read pool use.

use rusqlite::Connection;

use super::{read, write};
use crate::KvError;
use crate::cursor::Position;
use crate::model::{Condition, Item, TableSpec, TxOp};
use crate::query::Query;
use crate::store::{Fetched, Resolved, TableRef};

/// One request to the embedded store.
#[derive(Debug)]
pub(crate) enum Op {
    /// Create a table (and its index) when missing; purge expired rows.
    EnsureTable { table: TableRef, spec: TableSpec },
    /// Drop a table and its rows.
    DropTable(TableRef),
    /// Conditional whole-item write.
    Put {
        table: TableRef,
        item: Item,
        condition: Condition,
    },
    /// Conditional delete.
    Delete {
        table: TableRef,
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Atomic counter increment.
    Increment {
        table: TableRef,
        pk: String,
        sk: String,
        counter: String,
        delta: i64,
    },
    /// Blind writes of distinct items.
    BatchPut { table: TableRef, items: Vec<Item> },
    /// All-or-nothing ops on distinct items.
    Transact(Vec<Resolved<TxOp>>),
    /// Read one live item.
    Get {
        table: TableRef,
        pk: String,
        sk: String,
    },
    /// Read a page of a partition of the table or its index.
    Query {
        table: TableRef,
        index: bool,
        query: Query,
        start: Option<Position>,
    },
}

impl Op {
    /// Whether the request only reads.
    pub(crate) fn is_read(&self) -> bool {
        matches!(self, Self::Get { .. } | Self::Query { .. })
    }
}

/// What a request produced.
#[derive(Debug)]
pub(crate) enum Done {
    /// Nothing to return.
    Unit,
    /// The version a put stored.
    Version(u64),
    /// A counter's new value.
    Value(i64),
    /// The item a get found.
    Item(Option<Item>),
    /// A page of a query.
    Page(Fetched),
}

impl Done {
    pub(crate) fn version(self) -> Option<u64> {
        match self {
            Self::Version(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn value(self) -> Option<i64> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn item(self) -> Option<Option<Item>> {
        match self {
            Self::Item(item) => Some(item),
            _ => None,
        }
    }

    pub(crate) fn page(self) -> Option<Fetched> {
        match self {
            Self::Page(page) => Some(page),
            _ => None,
        }
    }
}

/// Runs `op` on `conn`. Writes must run inside a transaction (the writer's
/// savepoint) so that a multi-statement op is atomic.
pub(crate) fn apply(conn: &Connection, op: &Op, now: i64) -> Result<Done, KvError> {
    match op {
        Op::EnsureTable { table, spec } => {
            write::create(conn, table, spec, now).map(|()| Done::Unit)
        }
        Op::DropTable(table) => {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS \"{}\"", table.full))?;
            Ok(Done::Unit)
        }
        Op::Put {
            table,
            item,
            condition,
        } => write::put(conn, table, item, *condition, now).map(Done::Version),
        Op::Delete {
            table,
            pk,
            sk,
            condition,
        } => write::delete(conn, table, (pk, sk), *condition, now).map(|()| Done::Unit),
        Op::Increment {
            table,
            pk,
            sk,
            counter,
            delta,
        } => write::increment(conn, table, (pk, sk), counter, *delta, now).map(Done::Value),
        Op::BatchPut { table, items } => {
            for item in items {
                write::put(conn, table, item, Condition::None, now)?;
            }
            Ok(Done::Unit)
        }
        Op::Transact(ops) => transact(conn, ops, now).map(|()| Done::Unit),
        Op::Get { table, pk, sk } => read::get(conn, table, pk, sk, now).map(Done::Item),
        Op::Query {
            table,
            index,
            query,
            start,
        } => read::query(conn, table, *index, query, start.as_ref(), now).map(Done::Page),
    }
}

/// Applies every op or fails naming the first whose condition broke; the
/// caller's savepoint undoes the earlier ones.
fn transact(conn: &Connection, ops: &[Resolved<TxOp>], now: i64) -> Result<(), KvError> {
    for (i, op) in ops.iter().enumerate() {
        let table = &op.table;
        let outcome = match &op.value {
            TxOp::Put {
                item, condition, ..
            } => write::put(conn, table, item, *condition, now).map(drop),
            TxOp::Delete {
                pk, sk, condition, ..
            } => write::delete(conn, table, (pk, sk), *condition, now),
            TxOp::ConditionCheck {
                pk, sk, condition, ..
            } => write::check(conn, table, (pk, sk), *condition, now),
        };
        match outcome {
            Ok(()) => {}
            Err(KvError::ConditionFailed { .. }) => {
                return Err(KvError::TransactionCanceled {
                    op: i,
                    reason: "ConditionalCheckFailed".into(),
                });
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}
