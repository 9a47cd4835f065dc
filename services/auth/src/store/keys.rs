//! Ed25519 signing keys. Private keys are stored as plain 32-byte seeds:
//! encryption at rest (KMS envelope) is a later concern.

use chatflow_sql::sqlx::{self, Row};

use super::{AuthStore, conn_of};
use crate::AuthError;

/// A stored signing key and its schedule.
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// Key id: the RFC 7638 JWK thumbprint.
    pub kid: String,
    /// The 32-byte Ed25519 seed.
    pub private_key: Vec<u8>,
    /// The 32-byte public key.
    pub public_key: Vec<u8>,
    /// When it starts signing (Unix ms); it is published from creation.
    pub activates_at_ms: i64,
    /// When a newer key took over signing, if one did.
    pub retires_at_ms: Option<i64>,
}

impl AuthStore {
    /// Every stored key, oldest activation first.
    pub async fn signing_keys(&self) -> Result<Vec<KeyRow>, AuthError> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key, activates_at_ms, retires_at_ms FROM signing_keys \
             ORDER BY activates_at_ms, kid",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRow {
                    kid: row.try_get("kid")?,
                    private_key: row.try_get("private_key")?,
                    public_key: row.try_get("public_key")?,
                    activates_at_ms: row.try_get("activates_at_ms")?,
                    retires_at_ms: row.try_get("retires_at_ms")?,
                })
            })
            .collect()
    }

    /// Adds `key`. With `rotate`, every unretired key retires when it
    /// activates; keys retired more than `keep_ms` ago are deleted.
    pub async fn add_signing_key(
        &self,
        key: &KeyRow,
        rotate: bool,
        keep_ms: i64,
        now: i64,
    ) -> Result<(), AuthError> {
        let mut tx = self.begin().await?;
        if rotate {
            sqlx::query("UPDATE signing_keys SET retires_at_ms = $1 WHERE retires_at_ms IS NULL")
                .bind(key.activates_at_ms)
                .execute(conn_of(&mut tx))
                .await?;
            sqlx::query(
                "DELETE FROM signing_keys WHERE retires_at_ms IS NOT NULL AND retires_at_ms < $1",
            )
            .bind(now.saturating_sub(keep_ms))
            .execute(conn_of(&mut tx))
            .await?;
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at_ms, activates_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(now)
        .bind(key.activates_at_ms)
        .execute(conn_of(&mut tx))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
