//! The `members` table: who is in which conversation, with which role.

use chatflow_groups_client::Role;
use chatflow_sql::sqlx::{self, Any, Row, any::AnyRow};

use super::conversations::{self, ConversationRow};
use super::{Tx, count};
use crate::GroupsError;
use crate::policy::Facts;

/// One membership as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The user.
    pub user_id: String,
    /// Their role.
    pub role: Role,
    /// The membership version of their join.
    pub joined_version: u64,
    /// When they joined, in Unix milliseconds.
    pub joined_at_ms: i64,
    /// Who added them.
    pub added_by: String,
}

const SELECT: &str = "SELECT user_id, role, joined_version, joined_at_ms, added_by FROM members";

fn decode(row: &AnyRow) -> Result<MemberRow, GroupsError> {
    let user_id: String = row.try_get(0)?;
    let role = parse_role(&row.try_get::<String, _>(1)?)
        .ok_or_else(|| GroupsError::Internal(format!("member {user_id}: bad role")))?;
    Ok(MemberRow {
        role,
        joined_version: count(row.try_get(2)?),
        joined_at_ms: row.try_get(3)?,
        added_by: row.try_get(4)?,
        user_id,
    })
}

fn parse_role(s: &str) -> Option<Role> {
    s.parse().ok()
}

/// The role of `user` in `conversation`; `None` when not a member.
pub async fn role_of<'e, E>(
    executor: E,
    conversation: &str,
    user: &str,
) -> Result<Option<Role>, GroupsError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT role FROM members WHERE conversation_id = $1 AND user_id = $2")
        .bind(conversation)
        .bind(user)
        .fetch_optional(executor)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => parse_role(&row.try_get::<String, _>(0)?)
            .map(Some)
            .ok_or_else(|| GroupsError::Internal(format!("member {user}: bad role"))),
    }
}

/// A conversation's facts, `user`'s role in it and (for direct ones) its
/// two users, in one statement: the authorization hot path.
pub async fn facts_for<'e, E>(
    executor: E,
    conversation: &str,
    user: &str,
) -> Result<Option<(Facts, Option<Role>, (String, String))>, GroupsError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {}, m.role FROM conversations c LEFT JOIN members m \
         ON m.conversation_id = c.id AND m.user_id = $2 WHERE c.id = $1",
        conversations::columns("c")
    ))
    .bind(conversation)
    .bind(user)
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let conversation = conversations::decode(&row)?;
    let role = row
        .try_get::<Option<String>, _>(15)?
        .map(|r| {
            parse_role(&r).ok_or_else(|| GroupsError::Internal(format!("member {user}: bad role")))
        })
        .transpose()?;
    Ok(Some((conversation.facts(), role, conversation.direct)))
}

/// Every member with the version they were read at, in one statement;
/// `None` if the conversation does not exist.
pub async fn all(
    pool: &sqlx::AnyPool,
    conversation: &str,
) -> Result<Option<(u64, Vec<MemberRow>)>, GroupsError> {
    let rows = sqlx::query(
        "SELECT m.user_id, m.role, m.joined_version, m.joined_at_ms, m.added_by, c.membership_version \
         FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id \
         WHERE c.id = $1 ORDER BY m.user_id",
    )
    .bind(conversation)
    .fetch_all(pool)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let version = count(first.try_get(5)?);
    let members = rows
        .iter()
        .filter(|row| row.try_get::<Option<String>, _>(0).ok().flatten().is_some())
        .map(decode)
        .collect::<Result<_, _>>()?;
    Ok(Some((version, members)))
}

/// Up to `limit` members with ids after `after`, by user id.
pub async fn page(
    pool: &sqlx::AnyPool,
    conversation: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<MemberRow>, GroupsError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE conversation_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3"
    ))
    .bind(conversation)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// Adds a member.
pub async fn insert(
    tx: &mut Tx,
    conversation: &str,
    member: &MemberRow,
) -> Result<(), GroupsError> {
    sqlx::query(
        "INSERT INTO members (conversation_id, user_id, role, joined_version, joined_at_ms, added_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation)
    .bind(&member.user_id)
    .bind(member.role.as_str())
    .bind(member.joined_version as i64)
    .bind(member.joined_at_ms)
    .bind(&member.added_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a member; `false` if they were not one.
pub async fn delete(tx: &mut Tx, conversation: &str, user: &str) -> Result<bool, GroupsError> {
    let deleted = sqlx::query("DELETE FROM members WHERE conversation_id = $1 AND user_id = $2")
        .bind(conversation)
        .bind(user)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// Changes a member's role.
pub async fn set_role(
    tx: &mut Tx,
    conversation: &str,
    user: &str,
    role: Role,
) -> Result<(), GroupsError> {
    sqlx::query("UPDATE members SET role = $1 WHERE conversation_id = $2 AND user_id = $3")
        .bind(role.as_str())
        .bind(conversation)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Who inherits ownership when the owner leaves: the longest-standing
/// admin, else the longest-standing member; ties by user id.
pub async fn successor(
    tx: &mut Tx,
    conversation: &str,
    owner: &str,
) -> Result<Option<String>, GroupsError> {
    let row = sqlx::query(
        "SELECT user_id FROM members WHERE conversation_id = $1 AND user_id <> $2 \
         ORDER BY CASE role WHEN 'admin' THEN 0 ELSE 1 END, joined_version, user_id LIMIT 1",
    )
    .bind(conversation)
    .bind(owner)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Up to `limit` of `user`'s conversations with ids after `after`, by id,
/// with the user's role in each.
pub async fn conversations_of(
    pool: &sqlx::AnyPool,
    user: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<(ConversationRow, Role)>, GroupsError> {
    let rows = sqlx::query(&format!(
        "SELECT {}, m.role FROM members m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.user_id = $1 AND m.conversation_id > $2 ORDER BY m.conversation_id LIMIT $3",
        conversations::columns("c")
    ))
    .bind(user)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let conversation = conversations::decode(row)?;
            let role = parse_role(&row.try_get::<String, _>(15)?)
                .ok_or_else(|| GroupsError::Internal(format!("member {user}: bad role")))?;
            Ok((conversation, role))
        })
        .collect()
}
