//! The `invites` table: invite links and how often they were used.

use chatflow_sql::sqlx::{self, Any, Row, any::AnyRow};

use super::Tx;
use crate::GroupsError;
use crate::model::Invite;

const SELECT: &str = "SELECT id, conversation_id, created_by, created_at_ms, expires_at_ms, \
     max_uses, uses, revoked_at_ms FROM invites";

/// One invite link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    /// 32 hex digits (a UUIDv7).
    pub id: String,
    /// The group it joins.
    pub conversation_id: String,
    /// Who created it.
    pub created_by: String,
    /// When, in Unix milliseconds.
    pub created_at_ms: i64,
    /// When it stops working.
    pub expires_at_ms: i64,
    /// How many joins it allows; `None` for unlimited.
    pub max_uses: Option<u32>,
    /// How many joins it admitted.
    pub uses: u32,
    /// When it was revoked.
    pub revoked_at_ms: Option<i64>,
}

impl InviteRow {
    /// The REST view; the token only when just created.
    pub fn to_invite(&self, token: Option<String>) -> Invite {
        Invite {
            id: self.id.clone(),
            group_id: self.conversation_id.clone(),
            token,
            created_by: self.created_by.clone(),
            expires_at_ms: self.expires_at_ms,
            max_uses: self.max_uses,
            uses: self.uses,
            revoked_at_ms: self.revoked_at_ms,
        }
    }
}

fn decode(row: &AnyRow) -> Result<InviteRow, GroupsError> {
    let small = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(InviteRow {
        id: row.try_get(0)?,
        conversation_id: row.try_get(1)?,
        created_by: row.try_get(2)?,
        created_at_ms: row.try_get(3)?,
        expires_at_ms: row.try_get(4)?,
        max_uses: row.try_get::<Option<i64>, _>(5)?.map(small),
        uses: small(row.try_get(6)?),
        revoked_at_ms: row.try_get(7)?,
    })
}

/// Stores a new invite.
pub async fn insert(tx: &mut Tx, invite: &InviteRow) -> Result<(), GroupsError> {
    sqlx::query(
        "INSERT INTO invites (id, conversation_id, created_by, created_at_ms, expires_at_ms, max_uses, uses) \
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
    )
    .bind(&invite.id)
    .bind(&invite.conversation_id)
    .bind(&invite.created_by)
    .bind(invite.created_at_ms)
    .bind(invite.expires_at_ms)
    .bind(invite.max_uses.map(i64::from))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One invite, from a transaction or the pool.
pub async fn fetch<'e, E>(executor: E, id: &str) -> Result<Option<InviteRow>, GroupsError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// A group's invites that still work at `now`, newest first.
pub async fn active(
    pool: &sqlx::AnyPool,
    conversation: &str,
    now: i64,
) -> Result<Vec<InviteRow>, GroupsError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE conversation_id = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2 \
         AND (max_uses IS NULL OR uses < max_uses) ORDER BY created_at_ms DESC, id DESC LIMIT 1000"
    ))
    .bind(conversation)
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// Marks an invite revoked (once; later calls keep the first time).
pub async fn revoke(tx: &mut Tx, id: &str, now: i64) -> Result<(), GroupsError> {
    sqlx::query("UPDATE invites SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Counts one join through an invite.
pub async fn record_use(tx: &mut Tx, id: &str) -> Result<(), GroupsError> {
    sqlx::query("UPDATE invites SET uses = uses + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
