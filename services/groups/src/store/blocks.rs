//! The `blocks` table: which user blocked which, from the profile service's
//! events. Blocks and unblocks travel on two topics, so they can arrive out
//! of order; each pair keeps the time of the event it reflects and older
//! events are ignored (last writer wins by event time).

use chatflow_sql::sqlx::{self, Any, Row};

use super::{Tx, flag};
use crate::GroupsError;

/// Records that `blocker` blocked (`blocked == true`) or unblocked `target`
/// at `at_ms`. Returns whether the pair's state changed.
pub async fn apply(
    tx: &mut Tx,
    blocker: &str,
    target: &str,
    blocked: bool,
    at_ms: i64,
) -> Result<bool, GroupsError> {
    let before = sqlx::query(
        "SELECT blocked, changed_at_ms FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
    )
    .bind(blocker)
    .bind(target)
    .fetch_optional(&mut **tx)
    .await?;
    let was_blocked = match &before {
        Some(row) => {
            let changed_at: i64 = row.try_get(1)?;
            if changed_at > at_ms {
                return Ok(false); // a newer event was applied already
            }
            flag(row.try_get(0)?)
        }
        None => false,
    };
    sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id, blocked, changed_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET blocked = excluded.blocked, \
         changed_at_ms = excluded.changed_at_ms WHERE blocks.changed_at_ms <= excluded.changed_at_ms",
    )
    .bind(blocker)
    .bind(target)
    .bind(i64::from(blocked))
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(was_blocked != blocked)
}

/// Whether either of two users blocked the other.
pub async fn between<'e, E>(executor: E, a: &str, b: &str) -> Result<bool, GroupsError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT COUNT(*) FROM blocks WHERE blocked = 1 AND \
         ((blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))",
    )
    .bind(a)
    .bind(b)
    .fetch_one(executor)
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}
