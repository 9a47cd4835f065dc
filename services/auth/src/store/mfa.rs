//! TOTP secrets with their last used time-step, and hashed recovery codes.

use chatflow_sql::sqlx::{self, Row};

use super::{AuthStore, Tx, conn_of};
use crate::AuthError;

/// A user's TOTP enrolment.
#[derive(Debug, Clone)]
pub struct TotpRow {
    /// The shared secret (20 bytes).
    pub secret: Vec<u8>,
    /// False while the enrolment awaits its confirming code.
    pub enabled: bool,
    /// The last time-step a code was accepted for; older or equal ones are replays.
    pub last_step: i64,
}

impl AuthStore {
    /// The user's TOTP row, pending or enabled.
    pub async fn totp(&self, user_id: &str) -> Result<Option<TotpRow>, AuthError> {
        let row = sqlx::query("SELECT secret, enabled, last_step FROM totp WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(|row| {
            Ok(TotpRow {
                secret: row.try_get("secret")?,
                enabled: row.try_get::<i64, _>("enabled")? != 0,
                last_step: row.try_get("last_step")?,
            })
        })
        .transpose()
    }

    /// Starts (or restarts) an enrolment; false if TOTP is already enabled.
    pub async fn put_pending_totp(
        &self,
        user_id: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<bool, AuthError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM totp WHERE user_id = $1 AND enabled = 0")
            .bind(user_id)
            .execute(conn_of(&mut tx))
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO totp (user_id, secret, enabled, last_step, created_at_ms) VALUES ($1, $2, 0, -1, $3)",
        )
        .bind(user_id)
        .bind(secret)
        .bind(now)
        .execute(conn_of(&mut tx))
        .await;
        match inserted.map_err(chatflow_sql::SqlError::from) {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(chatflow_sql::SqlError::AlreadyExists(_)) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    /// Enables a pending enrolment at `step`; false if nothing was pending.
    pub async fn enable_totp(
        &self,
        tx: &mut Tx,
        user_id: &str,
        step: i64,
    ) -> Result<bool, AuthError> {
        let done = sqlx::query(
            "UPDATE totp SET enabled = 1, last_step = $1 WHERE user_id = $2 AND enabled = 0",
        )
        .bind(step)
        .bind(user_id)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Records that a code for `step` was used; false if that step (or a
    /// later one) already was — the replay check, atomic across replicas.
    pub async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool, AuthError> {
        let done = sqlx::query(
            "UPDATE totp SET last_step = $1 WHERE user_id = $2 AND enabled = 1 AND last_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Removes TOTP and the recovery codes.
    pub async fn delete_mfa(&self, tx: &mut Tx, user_id: &str) -> Result<(), AuthError> {
        for table in ["totp", "recovery_codes"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user_id)
                .execute(conn_of(tx))
                .await?;
        }
        Ok(())
    }

    /// Replaces the user's recovery codes with these hashes.
    pub async fn replace_recovery_codes(
        &self,
        tx: &mut Tx,
        user_id: &str,
        hashes: &[String],
    ) -> Result<(), AuthError> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(conn_of(tx))
            .await?;
        for hash in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(conn_of(tx))
                .await?;
        }
        Ok(())
    }

    /// Spends a recovery code; false if it is unknown or already used.
    pub async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<bool, AuthError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at_ms = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at_ms IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(hash)
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// How many recovery codes the user has left.
    pub async fn recovery_codes_left(&self, user_id: &str) -> Result<i64, AuthError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at_ms IS NULL",
        )
        .bind(user_id)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(row.try_get("n")?)
    }
}
