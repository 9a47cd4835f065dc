//! The discovery directory: keyed identifier hashes → user ids, and the
//! consent-aware lookup behind `POST /v1/contacts/discover`.

use chatflow_sql::sqlx::{self, Row};

use super::{ProfileStore, Tx, conn_of};
use crate::ProfileError;

/// Hashes per lookup query: far below every engine's parameter limit.
const LOOKUP_CHUNK: usize = 500;

/// One directory entry as the consumer writes it.
#[derive(Debug, Clone)]
pub struct DirectoryEntry<'a> {
    /// HMAC-SHA256 of the identifier, lower-case hex.
    pub hash: &'a str,
    /// The key that made it.
    pub key_id: &'a str,
    /// The account that proved the identifier.
    pub user_id: &'a str,
    /// When it was proven (Unix ms): a later proof of the same identifier
    /// by another account wins, a replay of an older one does not.
    pub verified_at_ms: i64,
}

impl ProfileStore {
    /// Records an entry idempotently: the same event twice changes nothing.
    pub async fn record_identifier(
        &self,
        tx: &mut Tx,
        entry: &DirectoryEntry<'_>,
    ) -> Result<(), ProfileError> {
        sqlx::query(
            "INSERT INTO directory (identifier_hash, key_id, user_id, verified_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (identifier_hash) DO UPDATE SET \
             key_id = excluded.key_id, user_id = excluded.user_id, \
             verified_at_ms = excluded.verified_at_ms \
             WHERE directory.verified_at_ms <= excluded.verified_at_ms",
        )
        .bind(entry.hash)
        .bind(entry.key_id)
        .bind(entry.user_id)
        .bind(entry.verified_at_ms)
        .execute(conn_of(tx))
        .await?;
        Ok(())
    }

    /// The `(hash, user id)` pairs among `hashes` (made with `key_id`) whose
    /// users let `requester` find them: their discovery setting (or
    /// `default_discovery` if they never set one) is `everyone`, or
    /// `contacts` and they have `requester` as a contact; and they have not
    /// blocked `requester`. The requester never finds themself.
    pub async fn discoverable(
        &self,
        requester: &str,
        key_id: &str,
        default_discovery: &str,
        hashes: &[String],
    ) -> Result<Vec<(String, String)>, ProfileError> {
        let mut found = Vec::new();
        let mut conn = self.conn().await?;
        for chunk in hashes.chunks(LOOKUP_CHUNK) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
            let sql = format!(
                "SELECT d.identifier_hash, d.user_id FROM directory d \
                 LEFT JOIN privacy p ON p.user_id = d.user_id \
                 WHERE d.key_id = $1 AND d.user_id <> $2 \
                 AND d.identifier_hash IN ({}) \
                 AND NOT EXISTS (SELECT 1 FROM blocks b \
                     WHERE b.blocker_id = d.user_id AND b.blocked_id = $2) \
                 AND (COALESCE(p.discovery, $3) = 'everyone' \
                     OR (COALESCE(p.discovery, $3) = 'contacts' AND EXISTS (SELECT 1 FROM contacts c \
                         WHERE c.owner_id = d.user_id AND c.contact_id = $2)))",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql)
                .bind(key_id)
                .bind(requester)
                .bind(default_discovery);
            for hash in chunk {
                query = query.bind(hash);
            }
            for row in query.fetch_all(&mut *conn).await? {
                found.push((row.try_get("identifier_hash")?, row.try_get("user_id")?));
            }
        }
        Ok(found)
    }
}
