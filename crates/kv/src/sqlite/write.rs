//! Writes on SQLite, each a single statement (or a read-modify-write inside the
//! caller's transaction), usable alone or as one op of a transaction.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use super::db_error;
use crate::KvError;
use crate::model::{Condition, Item, TableSpec};
use crate::store::TableRef;

/// Creates the table and its index when missing, and purges expired rows.
pub(super) fn create(
    conn: &Connection,
    table: &TableRef,
    spec: &TableSpec,
    now: i64,
) -> Result<(), KvError> {
    let index = format!("{}__gsi1", table.full);
    let (tables, indexes): (i64, i64) = conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE type = 'table' AND name = ?1), \
                COUNT(*) FILTER (WHERE type = 'index' AND name = ?2) FROM sqlite_master",
        params![table.full, index],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if tables > 0 && (indexes > 0) != spec.secondary_index {
        return Err(KvError::invalid(format!(
            "table {:?} exists with a different secondary index",
            table.name
        )));
    }
    let t = &table.full;
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS \"{t}\" (pk TEXT NOT NULL, sk TEXT NOT NULL, \
         version INTEGER NOT NULL, data BLOB NOT NULL, expires_at INTEGER, \
         gsi1pk TEXT, gsi1sk TEXT, counters TEXT, PRIMARY KEY (pk, sk)) WITHOUT ROWID"
    ))?;
    if spec.secondary_index {
        conn.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS \"{index}\" ON \"{t}\" (gsi1pk, gsi1sk, pk, sk) \
             WHERE gsi1pk IS NOT NULL"
        ))?;
    }
    conn.execute(
        &format!("DELETE FROM \"{t}\" WHERE expires_at <= ?1"),
        [now],
    )?;
    Ok(())
}

/// Writes `item` if `condition` holds; returns the version stored.
pub(super) fn put(
    conn: &Connection,
    table: &TableRef,
    item: &Item,
    condition: Condition,
    now: i64,
) -> Result<u64, KvError> {
    let version = match condition {
        Condition::None => item.version,
        Condition::IfAbsent => 1,
        Condition::IfVersion(v) => v.checked_add(1).ok_or_else(|| overflow("version"))?,
    };
    let stored = i64::try_from(version).map_err(|_| overflow("version"))?;
    let t = &table.full;
    let (gsi1pk, gsi1sk) = item.gsi1.clone().unzip();
    let counters = counters_json(&item.counters)?;
    let data: &[u8] = item.data.as_ref();
    let changed = match condition {
        Condition::None => conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO \"{t}\" (pk, sk, version, data, expires_at, gsi1pk, gsi1sk, counters) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .and_then(|mut s| {
                s.execute(params![item.pk, item.sk, stored, data, item.expires_at, gsi1pk, gsi1sk, counters])
            }),
        // An expired row counts as absent and is replaced.
        Condition::IfAbsent => conn
            .prepare_cached(&format!(
                "INSERT INTO \"{t}\" (pk, sk, version, data, expires_at, gsi1pk, gsi1sk, counters) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (pk, sk) DO UPDATE SET \
                 version = excluded.version, data = excluded.data, expires_at = excluded.expires_at, \
                 gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk, counters = excluded.counters \
                 WHERE \"{t}\".expires_at <= ?9"
            ))
            .and_then(|mut s| {
                s.execute(params![item.pk, item.sk, stored, data, item.expires_at, gsi1pk, gsi1sk, counters, now])
            }),
        Condition::IfVersion(expected) => conn
            .prepare_cached(&format!(
                "UPDATE \"{t}\" SET version = ?3, data = ?4, expires_at = ?5, gsi1pk = ?6, \
                 gsi1sk = ?7, counters = ?8 WHERE pk = ?1 AND sk = ?2 AND version = ?10 \
                 AND (expires_at IS NULL OR expires_at > ?9)"
            ))
            .and_then(|mut s| {
                let expected = i64::try_from(expected).unwrap_or(-1);
                s.execute(params![
                    item.pk, item.sk, stored, data, item.expires_at, gsi1pk, gsi1sk, counters, now,
                    expected
                ])
            }),
    }
    .map_err(db_error(table))?;
    if changed == 0 {
        return Err(condition_failed(table, &item.pk, &item.sk));
    }
    Ok(version)
}

/// Deletes an item if `condition` holds (`IfAbsent` was refused earlier).
pub(super) fn delete(
    conn: &Connection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    condition: Condition,
    now: i64,
) -> Result<(), KvError> {
    let t = &table.full;
    let changed = match condition {
        Condition::IfVersion(v) => conn
            .prepare_cached(&format!(
                "DELETE FROM \"{t}\" WHERE pk = ?1 AND sk = ?2 AND version = ?3 \
                 AND (expires_at IS NULL OR expires_at > ?4)"
            ))
            .and_then(|mut s| s.execute(params![pk, sk, i64::try_from(v).unwrap_or(-1), now])),
        _ => conn
            .prepare_cached(&format!("DELETE FROM \"{t}\" WHERE pk = ?1 AND sk = ?2"))
            .and_then(|mut s| s.execute(params![pk, sk])),
    }
    .map_err(db_error(table))?;
    if matches!(condition, Condition::IfVersion(_)) && changed == 0 {
        return Err(condition_failed(table, pk, sk));
    }
    Ok(())
}

/// Fails unless `condition` holds for the stored item; writes nothing.
pub(super) fn check(
    conn: &Connection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    condition: Condition,
    now: i64,
) -> Result<(), KvError> {
    let live = live_version(conn, table, (pk, sk), now)?;
    let holds = match condition {
        Condition::None => true,
        Condition::IfAbsent => live.is_none(),
        Condition::IfVersion(v) => live == Some(v),
    };
    if holds {
        Ok(())
    } else {
        Err(condition_failed(table, pk, sk))
    }
}

/// Adds `delta` to a counter, creating the item when absent or expired.
///
/// Must run inside a transaction (the writer's savepoint) to be atomic.
pub(super) fn increment(
    conn: &Connection,
    table: &TableRef,
    key: (&str, &str),
    counter: &str,
    delta: i64,
    now: i64,
) -> Result<i64, KvError> {
    let mut item = match super::read::live_item(conn, table, key, now)? {
        Some(mut live) => {
            live.version = live
                .version
                .checked_add(1)
                .ok_or_else(|| overflow("version"))?;
            live
        }
        None => Item {
            version: 1,
            ..Item::new(key.0, key.1, Vec::new())
        },
    };
    let value = item.counters.get(counter).copied().unwrap_or(0);
    let value = value
        .checked_add(delta)
        .ok_or_else(|| overflow("counter"))?;
    item.counters.insert(counter.to_owned(), value);
    put(conn, table, &item, Condition::None, now)?;
    Ok(value)
}

/// The version of the live item at the key, if any.
fn live_version(
    conn: &Connection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    now: i64,
) -> Result<Option<u64>, KvError> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT version FROM \"{}\" WHERE pk = ?1 AND sk = ?2 \
             AND (expires_at IS NULL OR expires_at > ?3)",
            table.full
        ))
        .map_err(db_error(table))?;
    let mut rows = statement
        .query(params![pk, sk, now])
        .map_err(db_error(table))?;
    match rows.next()? {
        Some(row) => Ok(Some(
            u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
        )),
        None => Ok(None),
    }
}

fn counters_json(counters: &BTreeMap<String, i64>) -> Result<Option<String>, KvError> {
    if counters.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(counters)
        .map(Some)
        .map_err(|e| KvError::Internal(format!("cannot encode counters: {e}")))
}

fn condition_failed(table: &TableRef, pk: &str, sk: &str) -> KvError {
    KvError::ConditionFailed {
        table: table.name.clone(),
        pk: pk.to_owned(),
        sk: sk.to_owned(),
    }
}

fn overflow(what: &str) -> KvError {
    KvError::invalid(format!("{what} would overflow"))
}
