//! The `conversations` table: one row per direct conversation or group.

use chatflow_groups_client::{ConversationKind, Role};
use chatflow_proto::groups::v1 as pb;
use chatflow_sql::sqlx::{self, Any, Row, any::AnyRow};

use super::{Tx, count};
use crate::GroupsError;
use crate::model::{Audience, Group, Permissions};
use crate::policy::Facts;

const SELECT: &str = "SELECT id, kind, name, description, avatar_file_id, post_policy, add_policy, \
     edit_policy, direct_low, direct_high, membership_version, info_version, member_count, \
     created_by, created_at_ms FROM conversations";

/// One conversation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    /// `d_...` or `g_...`.
    pub id: String,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group name (empty for direct).
    pub name: String,
    /// Group description.
    pub description: String,
    /// Avatar file id; empty when unset.
    pub avatar_file_id: String,
    /// Group permissions.
    pub permissions: Permissions,
    /// The two users of a direct conversation, lower id first (empty for groups).
    pub direct: (String, String),
    /// See the migration.
    pub membership_version: u64,
    /// See the migration.
    pub info_version: u64,
    /// Current number of members.
    pub member_count: u64,
    /// Who created it.
    pub created_by: String,
    /// When, in Unix milliseconds.
    pub created_at_ms: i64,
}

impl ConversationRow {
    /// What the authorization rules need.
    pub fn facts(&self) -> Facts {
        Facts {
            kind: self.kind,
            permissions: self.permissions,
            membership_version: self.membership_version,
        }
    }

    /// The REST view for a member of `role`.
    pub fn to_group(&self, my_role: Role, member_limit: u32) -> Group {
        Group {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            avatar_file_id: Some(self.avatar_file_id.clone()).filter(|a| !a.is_empty()),
            permissions: self.permissions,
            version: self.info_version,
            membership_version: self.membership_version,
            member_count: self.member_count,
            member_limit,
            my_role,
            created_by: self.created_by.clone(),
            created_at_ms: self.created_at_ms,
        }
    }

    /// The group's info as events carry it.
    pub fn info_proto(&self) -> pb::GroupInfo {
        pb::GroupInfo {
            name: self.name.clone(),
            description: self.description.clone(),
            avatar_file_id: self.avatar_file_id.clone(),
        }
    }
}

/// The permissions as events carry them.
pub fn permissions_proto(p: &Permissions) -> pb::Permissions {
    let audience = |a: Audience| match a {
        Audience::Everyone => pb::Audience::Everyone,
        Audience::Admins => pb::Audience::Admins,
    };
    pb::Permissions {
        post: audience(p.post).into(),
        add_members: audience(p.add_members).into(),
        edit_info: audience(p.edit_info).into(),
    }
}

/// Inserts a new conversation; `false` if the id exists already.
pub async fn insert(tx: &mut Tx, row: &ConversationRow, now: i64) -> Result<bool, GroupsError> {
    let inserted = sqlx::query(
        "INSERT INTO conversations (id, kind, name, description, avatar_file_id, post_policy, \
         add_policy, edit_policy, direct_low, direct_high, membership_version, info_version, \
         member_count, created_by, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&row.id)
    .bind(row.kind.as_str())
    .bind(&row.name)
    .bind(&row.description)
    .bind(&row.avatar_file_id)
    .bind(row.permissions.post.as_str())
    .bind(row.permissions.add_members.as_str())
    .bind(row.permissions.edit_info.as_str())
    .bind(&row.direct.0)
    .bind(&row.direct.1)
    .bind(row.membership_version as i64)
    .bind(row.info_version as i64)
    .bind(row.member_count as i64)
    .bind(&row.created_by)
    .bind(row.created_at_ms)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// One conversation, from a transaction or the pool.
pub async fn fetch<'e, E>(executor: E, id: &str) -> Result<Option<ConversationRow>, GroupsError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Counts one membership change: version + 1, members + `delta`. Returns
/// the new version and member count.
pub async fn bump(tx: &mut Tx, id: &str, delta: i64, now: i64) -> Result<(u64, u64), GroupsError> {
    let row = sqlx::query(
        "UPDATE conversations SET membership_version = membership_version + 1, \
         member_count = member_count + $1, updated_at_ms = $2 WHERE id = $3 \
         RETURNING membership_version, member_count",
    )
    .bind(delta)
    .bind(now)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((count(row.try_get(0)?), count(row.try_get(1)?)))
}

/// Stores new info and permissions and counts an info change.
pub async fn set_settings(tx: &mut Tx, row: &ConversationRow, now: i64) -> Result<(), GroupsError> {
    sqlx::query(
        "UPDATE conversations SET name = $1, description = $2, avatar_file_id = $3, \
         post_policy = $4, add_policy = $5, edit_policy = $6, info_version = info_version + 1, \
         updated_at_ms = $7 WHERE id = $8",
    )
    .bind(&row.name)
    .bind(&row.description)
    .bind(&row.avatar_file_id)
    .bind(row.permissions.post.as_str())
    .bind(row.permissions.add_members.as_str())
    .bind(row.permissions.edit_info.as_str())
    .bind(now)
    .bind(&row.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Decodes a row selected with the columns of `SELECT` (in order, first).
pub fn decode(row: &AnyRow) -> Result<ConversationRow, GroupsError> {
    let id: String = row.try_get(0)?;
    let corrupt = |what: &str| GroupsError::Internal(format!("conversation {id}: bad {what}"));
    let kind = match row.try_get::<String, _>(1)?.as_str() {
        "direct" => ConversationKind::Direct,
        "group" => ConversationKind::Group,
        _ => return Err(corrupt("kind")),
    };
    let audience = |i: usize, what: &str| -> Result<Audience, GroupsError> {
        Audience::parse(&row.try_get::<String, _>(i)?).ok_or_else(|| corrupt(what))
    };
    let permissions = Permissions {
        post: audience(5, "post_policy")?,
        add_members: audience(6, "add_policy")?,
        edit_info: audience(7, "edit_policy")?,
    };
    Ok(ConversationRow {
        kind,
        name: row.try_get(2)?,
        description: row.try_get(3)?,
        avatar_file_id: row.try_get(4)?,
        permissions,
        direct: (row.try_get(8)?, row.try_get(9)?),
        membership_version: count(row.try_get(10)?),
        info_version: count(row.try_get(11)?),
        member_count: count(row.try_get(12)?),
        created_by: row.try_get(13)?,
        created_at_ms: row.try_get(14)?,
        id,
    })
}

/// The column list of `SELECT`, prefixed with `alias.` for joins.
pub fn columns(alias: &str) -> String {
    SELECT
        .trim_start_matches("SELECT ")
        .trim_end_matches(" FROM conversations")
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
