//! Sessions (one per login) and their refresh-token families.

use chatflow_sql::sqlx::{self, Row, any::AnyRow};

use super::{AuthStore, Tx, conn_of};
use crate::AuthError;

/// A stored session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Session id (the `sid` claim).
    pub id: String,
    /// Its user.
    pub user_id: String,
    /// Device id chosen by the client (the `did` claim).
    pub device_id: String,
    /// A human name for the device, renameable.
    pub device_name: String,
    /// The `User-Agent` seen at login.
    pub user_agent: String,
    /// When the session began (Unix ms).
    pub created_at_ms: i64,
    /// When it last logged in or refreshed (Unix ms).
    pub last_used_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

/// What a login creates a session with.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Its user.
    pub user_id: String,
    /// Device id chosen by the client.
    pub device_id: String,
    /// Device name chosen by the client.
    pub device_name: String,
    /// The `User-Agent` header.
    pub user_agent: String,
}

/// A refresh token found by its hash, with its session.
#[derive(Debug, Clone)]
pub struct RefreshRow {
    /// When it was rotated away, if it was.
    pub used_at_ms: Option<i64>,
    /// When it stops being accepted.
    pub expires_at_ms: i64,
    /// Its session (family).
    pub session: SessionRow,
}

/// Which of a user's live sessions to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// This one.
    One(&'a str),
    /// All but this one.
    AllExcept(&'a str),
    /// Every one.
    All,
}

const SESSION_COLUMNS: &str = "s.id, s.user_id, s.device_id, s.device_name, s.user_agent, \
     s.created_at_ms, s.last_used_at_ms, s.revoked_at_ms";

impl AuthStore {
    /// Creates a session with its first refresh token (stored by hash).
    pub async fn create_session(
        &self,
        tx: &mut Tx,
        id: &str,
        new: &NewSession,
        refresh_hash: &str,
        refresh_expires_ms: i64,
        now: i64,
    ) -> Result<(), AuthError> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, device_id, device_name, user_agent, created_at_ms, last_used_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(&new.user_id)
        .bind(&new.device_id)
        .bind(&new.device_name)
        .bind(&new.user_agent)
        .bind(now)
        .execute(conn_of(tx))
        .await?;
        self.insert_refresh(tx, refresh_hash, id, refresh_expires_ms, now)
            .await
    }

    /// Adds a refresh token to a session's family.
    pub async fn insert_refresh(
        &self,
        tx: &mut Tx,
        hash: &str,
        session_id: &str,
        expires_ms: i64,
        now: i64,
    ) -> Result<(), AuthError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(hash)
        .bind(session_id)
        .bind(now)
        .bind(expires_ms)
        .execute(conn_of(tx))
        .await?;
        Ok(())
    }

    /// The refresh token with this hash and its session.
    pub async fn refresh_token(
        &self,
        tx: &mut Tx,
        hash: &str,
    ) -> Result<Option<RefreshRow>, AuthError> {
        let row = sqlx::query(&format!(
            "SELECT r.used_at_ms, r.expires_at_ms, {SESSION_COLUMNS} FROM refresh_tokens r \
             JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(conn_of(tx))
        .await?;
        row.map(|row| {
            Ok(RefreshRow {
                used_at_ms: row.try_get("used_at_ms")?,
                expires_at_ms: row.try_get("expires_at_ms")?,
                session: session_of(&row)?,
            })
        })
        .transpose()
    }

    /// Marks a refresh token used; false if it already was (a concurrent use).
    pub async fn spend_refresh(
        &self,
        tx: &mut Tx,
        hash: &str,
        now: i64,
    ) -> Result<bool, AuthError> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at_ms = $1 WHERE token_hash = $2 AND used_at_ms IS NULL",
        )
        .bind(now)
        .bind(hash)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Records activity on a session.
    pub async fn touch_session(&self, tx: &mut Tx, id: &str, now: i64) -> Result<(), AuthError> {
        sqlx::query("UPDATE sessions SET last_used_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(conn_of(tx))
            .await?;
        Ok(())
    }

    /// A session by id, live or not.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, AuthError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(session_of).transpose()
    }

    /// A user's live sessions, oldest first.
    pub async fn live_sessions(&self, user_id: &str) -> Result<Vec<SessionRow>, AuthError> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.revoked_at_ms IS NULL \
             ORDER BY s.created_at_ms, s.id"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(session_of).collect()
    }

    /// Renames a live session of `user_id`; false if there is none.
    pub async fn rename_session(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, AuthError> {
        let done = sqlx::query(
            "UPDATE sessions SET device_name = $1 WHERE id = $2 AND user_id = $3 AND revoked_at_ms IS NULL",
        )
        .bind(name)
        .bind(id)
        .bind(user_id)
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Revokes the chosen live sessions of `user_id`; returns the ids this call revoked.
    pub async fn revoke_sessions(
        &self,
        tx: &mut Tx,
        user_id: &str,
        which: Which<'_>,
        reason: &str,
        now: i64,
    ) -> Result<Vec<String>, AuthError> {
        let candidates: Vec<String> = sqlx::query(
            "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at_ms IS NULL ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(conn_of(tx))
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, _>>()?;
        let mut revoked = Vec::new();
        for id in candidates {
            let chosen = match which {
                Which::One(target) => id == target,
                Which::AllExcept(keep) => id != keep,
                Which::All => true,
            };
            if !chosen {
                continue;
            }
            let done = sqlx::query(
                "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at_ms IS NULL",
            )
            .bind(now)
            .bind(reason)
            .bind(&id)
            .execute(conn_of(tx))
            .await?
            .rows_affected();
            if done == 1 {
                revoked.push(id);
            }
        }
        Ok(revoked)
    }
}

fn session_of(row: &AnyRow) -> Result<SessionRow, AuthError> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("device_name")?,
        user_agent: row.try_get("user_agent")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
    })
}
