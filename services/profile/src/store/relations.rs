//! Contacts and blocks: who the owner knows, and whom they shut out.

use chatflow_sql::sqlx::{self, Row};

use super::{ProfileStore, Tx, conn_of, count2};
use crate::ProfileError;
use crate::model::Relation;

/// Which of the two user-to-user lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relations {
    /// `contacts` (owner → contact).
    Contacts,
    /// `blocks` (blocker → blocked).
    Blocks,
}

impl Relations {
    /// Table, owner column and other-user column.
    fn table(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Contacts => ("contacts", "owner_id", "contact_id"),
            Self::Blocks => ("blocks", "blocker_id", "blocked_id"),
        }
    }
}

impl ProfileStore {
    /// Whether `owner` has `other` in the list.
    pub async fn has(
        &self,
        list: Relations,
        owner: &str,
        other: &str,
    ) -> Result<bool, ProfileError> {
        let (table, owner_col, other_col) = list.table();
        let sql =
            format!("SELECT COUNT(*) FROM {table} WHERE {owner_col} = $1 AND {other_col} = $2");
        Ok(count2(&mut *self.conn().await?, &sql, owner, other).await? > 0)
    }

    /// Adds `contact` to `owner`'s contacts. `manual` entries win over
    /// `discovery` ones: a manual add upgrades an entry, discovery never
    /// downgrades one.
    pub async fn add_contact(
        &self,
        tx: &mut Tx,
        owner: &str,
        contact: &str,
        source: &str,
        now: i64,
    ) -> Result<(), ProfileError> {
        let on_conflict = if source == "manual" {
            "DO UPDATE SET source = 'manual'"
        } else {
            "DO NOTHING"
        };
        sqlx::query(&format!(
            "INSERT INTO contacts (owner_id, contact_id, source, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (owner_id, contact_id) {on_conflict}"
        ))
        .bind(owner)
        .bind(contact)
        .bind(source)
        .bind(now)
        .execute(conn_of(tx))
        .await?;
        Ok(())
    }

    /// Blocks `blocked` for `blocker`; true if the block is new.
    pub async fn block(
        &self,
        tx: &mut Tx,
        blocker: &str,
        blocked: &str,
        now: i64,
    ) -> Result<bool, ProfileError> {
        let done = sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(blocker)
        .bind(blocked)
        .bind(now)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Removes `other` from `owner`'s list; true if it was there.
    pub async fn remove(
        &self,
        tx: &mut Tx,
        list: Relations,
        owner: &str,
        other: &str,
    ) -> Result<bool, ProfileError> {
        let (table, owner_col, other_col) = list.table();
        let done = sqlx::query(&format!(
            "DELETE FROM {table} WHERE {owner_col} = $1 AND {other_col} = $2"
        ))
        .bind(owner)
        .bind(other)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(done > 0)
    }

    /// Up to `limit` entries of `owner`'s list with user ids after `after`,
    /// in user-id order (keyset pagination: stable under inserts).
    pub async fn list(
        &self,
        list: Relations,
        owner: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Relation>, ProfileError> {
        let (table, owner_col, other_col) = list.table();
        let source = match list {
            Relations::Contacts => "source, ",
            Relations::Blocks => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT {other_col} AS user_id, {source}created_at_ms FROM {table} \
             WHERE {owner_col} = $1 AND {other_col} > $2 ORDER BY {other_col} LIMIT $3"
        ))
        .bind(owner)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Relation {
                    user_id: row.try_get("user_id")?,
                    source: match list {
                        Relations::Contacts => Some(row.try_get("source")?),
                        Relations::Blocks => None,
                    },
                    since_ms: row.try_get("created_at_ms")?,
                })
            })
            .collect()
    }
}
