//! Verification and reset codes: salted hashes, expiry, attempts, single use.

use chatflow_sql::sqlx::{self, Row};

use super::{AuthStore, Tx, conn_of};
use crate::AuthError;
use crate::crypto::{ct_eq, random_bytes, salted_hash};

/// What a code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Control of the account's email or phone.
    Verify,
    /// The right to set a new password.
    Reset,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
        }
    }
}

impl AuthStore {
    /// Stores a new code's salted hash, replacing the account's earlier codes
    /// of the same purpose; returns its expiry (Unix ms).
    pub async fn issue_code(
        &self,
        tx: &mut Tx,
        account_id: &str,
        purpose: Purpose,
        code: &str,
        ttl_ms: i64,
        now: i64,
    ) -> Result<i64, AuthError> {
        sqlx::query(
            "UPDATE verification_codes SET consumed_at_ms = $1 \
             WHERE account_id = $2 AND purpose = $3 AND consumed_at_ms IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(purpose.as_str())
        .execute(conn_of(tx))
        .await?;
        let salt = random_bytes::<16>().to_vec();
        let expires = now + ttl_ms;
        sqlx::query(
            "INSERT INTO verification_codes (id, account_id, purpose, salt, code_hash, attempts, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(salt.clone())
        .bind(salted_hash(&salt, code))
        .bind(now)
        .bind(expires)
        .execute(conn_of(tx))
        .await?;
        Ok(expires)
    }

    /// Spends one attempt on the account's live code and, if `code` matches,
    /// marks it used. The attempt is counted first, atomically, so parallel
    /// guesses cannot exceed `max_attempts`. Commit `tx` either way.
    pub async fn consume_code(
        &self,
        tx: &mut Tx,
        account_id: &str,
        purpose: Purpose,
        code: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<bool, AuthError> {
        let row = sqlx::query(
            "SELECT id, salt, code_hash, expires_at_ms FROM verification_codes \
             WHERE account_id = $1 AND purpose = $2 AND consumed_at_ms IS NULL \
             ORDER BY created_at_ms DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .fetch_optional(conn_of(tx))
        .await?;
        let Some(row) = row else { return Ok(false) };
        let id: String = row.try_get("id")?;
        if row.try_get::<i64, _>("expires_at_ms")? <= now {
            return Ok(false);
        }
        let counted = sqlx::query(
            "UPDATE verification_codes SET attempts = attempts + 1 \
             WHERE id = $1 AND attempts < $2 AND consumed_at_ms IS NULL",
        )
        .bind(&id)
        .bind(i64::from(max_attempts))
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        if counted == 0 {
            return Ok(false);
        }
        let salt: Vec<u8> = row.try_get("salt")?;
        let stored: Vec<u8> = row.try_get("code_hash")?;
        if !ct_eq(&salted_hash(&salt, code.trim()), &stored) {
            return Ok(false);
        }
        let used = sqlx::query(
            "UPDATE verification_codes SET consumed_at_ms = $1 WHERE id = $2 AND consumed_at_ms IS NULL",
        )
        .bind(now)
        .bind(&id)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(used == 1)
    }
}
