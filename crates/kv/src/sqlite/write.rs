//! Writes on SQLite, each a single statement (or a read-modify-write inside the
//! caller's transaction), usable alone or as one op of a transaction.

use std::collections::BTreeMap;

use sqlx::SqliteConnection;

use super::db_error;
use crate::KvError;
use crate::model::{Condition, Item};
use crate::store::TableRef;

/// Writes `item` if `condition` holds; returns the version stored.
pub(super) async fn put(
    conn: &mut SqliteConnection,
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
    let sql = match condition {
        Condition::None => format!(
            "INSERT OR REPLACE INTO \"{t}\" (pk, sk, version, data, expires_at, gsi1pk, gsi1sk, counters) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        // An expired row counts as absent and is replaced.
        Condition::IfAbsent => format!(
            "INSERT INTO \"{t}\" (pk, sk, version, data, expires_at, gsi1pk, gsi1sk, counters) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (pk, sk) DO UPDATE SET \
             version = excluded.version, data = excluded.data, expires_at = excluded.expires_at, \
             gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk, counters = excluded.counters \
             WHERE \"{t}\".expires_at <= ?9"
        ),
        Condition::IfVersion(_) => format!(
            "UPDATE \"{t}\" SET version = ?3, data = ?4, expires_at = ?5, gsi1pk = ?6, \
             gsi1sk = ?7, counters = ?8 WHERE pk = ?1 AND sk = ?2 AND version = ?10 \
             AND (expires_at IS NULL OR expires_at > ?9)"
        ),
    };
    let expected = match condition {
        Condition::IfVersion(v) => i64::try_from(v).unwrap_or(-1),
        _ => -1,
    };
    let (gsi1pk, gsi1sk) = item.gsi1.clone().unzip();
    let mut query = sqlx::query(&sql)
        .bind(&item.pk)
        .bind(&item.sk)
        .bind(stored)
        .bind(item.data.as_ref())
        .bind(item.expires_at)
        .bind(gsi1pk)
        .bind(gsi1sk)
        .bind(counters_json(&item.counters)?);
    if condition != Condition::None {
        query = query.bind(now);
    }
    if let Condition::IfVersion(_) = condition {
        query = query.bind(expected);
    }
    let done = query.execute(&mut *conn).await.map_err(db_error(table))?;
    if done.rows_affected() == 0 {
        return Err(condition_failed(table, &item.pk, &item.sk));
    }
    Ok(version)
}

/// Deletes an item if `condition` holds (`IfAbsent` was refused earlier).
pub(super) async fn delete(
    conn: &mut SqliteConnection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    condition: Condition,
    now: i64,
) -> Result<(), KvError> {
    let t = &table.full;
    let done = match condition {
        Condition::IfVersion(v) => sqlx::query(&format!(
            "DELETE FROM \"{t}\" WHERE pk = ?1 AND sk = ?2 AND version = ?3 \
             AND (expires_at IS NULL OR expires_at > ?4)"
        ))
        .bind(pk)
        .bind(sk)
        .bind(i64::try_from(v).unwrap_or(-1))
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_error(table))?,
        _ => sqlx::query(&format!("DELETE FROM \"{t}\" WHERE pk = ?1 AND sk = ?2"))
            .bind(pk)
            .bind(sk)
            .execute(&mut *conn)
            .await
            .map_err(db_error(table))?,
    };
    if matches!(condition, Condition::IfVersion(_)) && done.rows_affected() == 0 {
        return Err(condition_failed(table, pk, sk));
    }
    Ok(())
}

/// Fails unless `condition` holds for the stored item; writes nothing.
pub(super) async fn check(
    conn: &mut SqliteConnection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    condition: Condition,
    now: i64,
) -> Result<(), KvError> {
    let live = live_version(conn, table, (pk, sk), now).await?;
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
/// Must run inside a transaction (the caller's) to be atomic.
pub(super) async fn increment(
    conn: &mut SqliteConnection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    counter: &str,
    delta: i64,
    now: i64,
) -> Result<i64, KvError> {
    let sql = format!(
        "SELECT {} FROM \"{}\" WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
        super::read::COLUMNS,
        table.full
    );
    let row = sqlx::query(&sql)
        .bind(pk)
        .bind(sk)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error(table))?;
    let mut item = match row.as_ref().map(super::read::item_from_row).transpose()? {
        Some(mut live) => {
            live.version = live
                .version
                .checked_add(1)
                .ok_or_else(|| overflow("version"))?;
            live
        }
        None => Item {
            version: 1,
            ..Item::new(pk, sk, Vec::new())
        },
    };
    let value = item.counters.get(counter).copied().unwrap_or(0);
    let value = value
        .checked_add(delta)
        .ok_or_else(|| overflow("counter"))?;
    item.counters.insert(counter.to_owned(), value);
    put(conn, table, &item, Condition::None, now).await?;
    Ok(value)
}

/// The version of the live item at the key, if any.
async fn live_version(
    conn: &mut SqliteConnection,
    table: &TableRef,
    (pk, sk): (&str, &str),
    now: i64,
) -> Result<Option<u64>, KvError> {
    let sql = format!(
        "SELECT version FROM \"{}\" WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
        table.full
    );
    let version: Option<(i64,)> = sqlx::query_as(&sql)
        .bind(pk)
        .bind(sk)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error(table))?;
    Ok(version.map(|(v,)| u64::try_from(v).unwrap_or_default()))
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
