//! Reads on SQLite: one item, or a page of a partition of the table or its index.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use super::db_error;
use crate::KvError;
use crate::cursor::Position;
use crate::model::Item;
use crate::query::{Direction, Query, SortRange, prefix_upper_bound};
use crate::store::{Fetched, TableRef};

/// The columns every read selects, in the order [`item_from_row`] expects.
const COLUMNS: &str = "pk, sk, version, data, expires_at, gsi1pk, gsi1sk, counters";

/// Reads one live item.
pub(super) fn get(
    conn: &Connection,
    table: &TableRef,
    pk: &str,
    sk: &str,
    now: i64,
) -> Result<Option<Item>, KvError> {
    live_item(conn, table, (pk, sk), now)
}

/// The live item at a key, if any.
pub(super) fn live_item(
    conn: &Connection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    now: i64,
) -> Result<Option<Item>, KvError> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM \"{}\" WHERE pk = ?1 AND sk = ?2 \
             AND (expires_at IS NULL OR expires_at > ?3)",
            table.full
        ))
        .map_err(db_error(table))?;
    let mut rows = statement
        .query(params![pk, sk, now])
        .map_err(db_error(table))?;
    match rows.next()? {
        Some(row) => item_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// Reads up to `limit` live items after `start`, plus one to learn whether more follow.
pub(super) fn query(
    conn: &Connection,
    table: &TableRef,
    index: bool,
    query: &Query,
    start: Option<&Position>,
    now: i64,
) -> Result<Fetched, KvError> {
    let (part, sort) = if index {
        ("gsi1pk", "gsi1sk")
    } else {
        ("pk", "sk")
    };
    let mut sql = Sql {
        text: format!("SELECT {COLUMNS} FROM \"{}\" WHERE {part} = ", table.full),
        values: Vec::new(),
    };
    sql.bind(Value::Text(query.pk.clone()));
    sql.text
        .push_str(" AND (expires_at IS NULL OR expires_at > ");
    sql.bind(Value::Integer(now));
    sql.text.push(')');
    push_range(&mut sql, sort, &query.range);

    let forward = query.direction == Direction::Forward;
    let after = if forward { " > " } else { " < " };
    match start {
        None => {}
        Some(Position::Table { sk }) => {
            sql.text.push_str(" AND sk");
            sql.text.push_str(after);
            sql.bind(Value::Text(sk.clone()));
        }
        Some(Position::Index { gsi1sk, pk, sk }) => {
            sql.text.push_str(" AND (gsi1sk, pk, sk)");
            sql.text.push_str(after);
            sql.text.push('(');
            sql.bind(Value::Text(gsi1sk.clone()));
            sql.text.push_str(", ");
            sql.bind(Value::Text(pk.clone()));
            sql.text.push_str(", ");
            sql.bind(Value::Text(sk.clone()));
            sql.text.push(')');
        }
    }
    let order = if forward { "ASC" } else { "DESC" };
    if index {
        sql.text
            .push_str(&format!(" ORDER BY gsi1sk {order}, pk {order}, sk {order}"));
    } else {
        sql.text.push_str(&format!(" ORDER BY sk {order}"));
    }
    // One extra row tells whether another page exists.
    sql.text.push_str(" LIMIT ");
    sql.bind(Value::Integer(query.limit as i64 + 1));

    let mut statement = conn.prepare_cached(&sql.text).map_err(db_error(table))?;
    let mut rows = statement
        .query(params_from_iter(sql.values.iter()))
        .map_err(db_error(table))?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(item_from_row(row)?);
    }
    let more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(Fetched { items, more })
}

/// A statement under construction with numbered placeholders.
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Appends a placeholder for `value`.
    fn bind(&mut self, value: Value) {
        self.values.push(value);
        self.text.push_str(&format!("?{}", self.values.len()));
    }
}

/// Appends the sort-key range as SQL conditions on `column`.
fn push_range(sql: &mut Sql, column: &str, range: &SortRange) {
    let mut cmp = |op: &str, value: &str| {
        sql.text.push_str(" AND ");
        sql.text.push_str(column);
        sql.text.push_str(op);
        sql.bind(Value::Text(value.to_owned()));
    };
    match range {
        SortRange::All => {}
        SortRange::Between(low, high) => {
            cmp(" >= ", low);
            cmp(" <= ", high);
        }
        SortRange::BeginsWith(prefix) => {
            cmp(" >= ", prefix);
            if let Some(upper) = prefix_upper_bound(prefix) {
                cmp(" < ", &upper);
            }
        }
        SortRange::Gt(v) => cmp(" > ", v),
        SortRange::Ge(v) => cmp(" >= ", v),
        SortRange::Lt(v) => cmp(" < ", v),
        SortRange::Le(v) => cmp(" <= ", v),
    }
}

/// Builds an item from a row selected with [`COLUMNS`].
fn item_from_row(row: &Row<'_>) -> Result<Item, KvError> {
    let corrupt = |e: rusqlite::Error| KvError::Internal(format!("unreadable stored item: {e}"));
    let version: i64 = row.get(2).map_err(corrupt)?;
    let data: Vec<u8> = row.get(3).map_err(corrupt)?;
    let gsi1pk: Option<String> = row.get(5).map_err(corrupt)?;
    let gsi1sk: Option<String> = row.get(6).map_err(corrupt)?;
    let counters: Option<String> = row.get(7).map_err(corrupt)?;
    let counters: BTreeMap<String, i64> = match counters {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| KvError::Internal(format!("unreadable stored counters: {e}")))?,
        None => BTreeMap::new(),
    };
    Ok(Item {
        pk: row.get(0).map_err(corrupt)?,
        sk: row.get(1).map_err(corrupt)?,
        version: u64::try_from(version).unwrap_or_default(),
        data: data.into(),
        expires_at: row.get(4).map_err(corrupt)?,
        gsi1: gsi1pk.zip(gsi1sk),
        counters,
    })
}
