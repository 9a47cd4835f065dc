//! Reads on SQLite: one item, or a page of a partition of the table or its index.

use std::collections::BTreeMap;

use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::db_error;
use crate::KvError;
use crate::cursor::Position;
use crate::model::Item;
use crate::query::{Direction, Query, SortRange, prefix_upper_bound};
use crate::store::{Fetched, TableRef};

/// The columns every read selects, in the order [`item_from_row`] expects.
pub(super) const COLUMNS: &str = "pk, sk, version, data, expires_at, gsi1pk, gsi1sk, counters";

/// Reads one live item.
pub(super) async fn get(
    pool: &SqlitePool,
    table: &TableRef,
    pk: &str,
    sk: &str,
    now: i64,
) -> Result<Option<Item>, KvError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM \"{}\" WHERE pk = ?1 AND sk = ?2 \
         AND (expires_at IS NULL OR expires_at > ?3)",
        table.full
    );
    let row = sqlx::query(&sql)
        .bind(pk)
        .bind(sk)
        .bind(now)
        .fetch_optional(pool)
        .await
        .map_err(db_error(table))?;
    row.as_ref().map(item_from_row).transpose()
}

/// Reads up to `limit` live items after `start`, plus one to learn whether more follow.
pub(super) async fn query(
    pool: &SqlitePool,
    table: &TableRef,
    index: bool,
    query: &Query,
    start: Option<Position>,
    now: i64,
) -> Result<Fetched, KvError> {
    let (part, sort) = if index {
        ("gsi1pk", "gsi1sk")
    } else {
        ("pk", "sk")
    };
    let mut sql =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM \"{}\" WHERE ", table.full));
    sql.push(part).push(" = ").push_bind(query.pk.clone());
    sql.push(" AND (expires_at IS NULL OR expires_at > ")
        .push_bind(now)
        .push(")");
    push_range(&mut sql, sort, &query.range);

    let forward = query.direction == Direction::Forward;
    let after = if forward { " > " } else { " < " };
    match start {
        None => {}
        Some(Position::Table { sk }) => {
            sql.push(" AND sk").push(after).push_bind(sk);
        }
        Some(Position::Index { gsi1sk, pk, sk }) => {
            sql.push(" AND (gsi1sk, pk, sk)").push(after).push("(");
            sql.push_bind(gsi1sk)
                .push(", ")
                .push_bind(pk)
                .push(", ")
                .push_bind(sk)
                .push(")");
        }
    }
    let order = if forward { "ASC" } else { "DESC" };
    if index {
        sql.push(format!(" ORDER BY gsi1sk {order}, pk {order}, sk {order}"));
    } else {
        sql.push(format!(" ORDER BY sk {order}"));
    }
    // One extra row tells whether another page exists.
    sql.push(" LIMIT ").push_bind(query.limit as i64 + 1);

    let rows = sql.build().fetch_all(pool).await.map_err(db_error(table))?;
    let mut items = rows
        .iter()
        .map(item_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(Fetched { items, more })
}

/// Appends the sort-key range as SQL conditions on `column`.
fn push_range(sql: &mut QueryBuilder<'_, Sqlite>, column: &str, range: &SortRange) {
    let mut cmp = |op: &str, value: &str| {
        sql.push(" AND ")
            .push(column)
            .push(op)
            .push_bind(value.to_owned());
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
pub(super) fn item_from_row(row: &SqliteRow) -> Result<Item, KvError> {
    let corrupt = |e: sqlx::Error| KvError::Internal(format!("unreadable stored item: {e}"));
    let version: i64 = row.try_get(2).map_err(corrupt)?;
    let data: Vec<u8> = row.try_get(3).map_err(corrupt)?;
    let gsi1pk: Option<String> = row.try_get(5).map_err(corrupt)?;
    let gsi1sk: Option<String> = row.try_get(6).map_err(corrupt)?;
    let counters: Option<String> = row.try_get(7).map_err(corrupt)?;
    let counters: BTreeMap<String, i64> = match counters {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| KvError::Internal(format!("unreadable stored counters: {e}")))?,
        None => BTreeMap::new(),
    };
    Ok(Item {
        pk: row.try_get(0).map_err(corrupt)?,
        sk: row.try_get(1).map_err(corrupt)?,
        version: u64::try_from(version).unwrap_or_default(),
        data: data.into(),
        expires_at: row.try_get(4).map_err(corrupt)?,
        gsi1: gsi1pk.zip(gsi1sk),
        counters,
    })
}
