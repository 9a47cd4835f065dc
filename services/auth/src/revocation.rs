//! The revocation list in the cache port, read by every verifier
//! (`chatflow-authn`) on each token check instead of a database round trip.

use std::time::Duration;

use chatflow_authn::claims::{revoked_before_key, revoked_session_key};
use chatflow_cache::CacheRef;

use crate::AuthError;

/// Writes revocation entries that outlive every token they cover.
#[derive(Clone)]
pub struct Revocations {
    cache: CacheRef,
    /// Access-token lifetime + leeway: past it the entry has nothing left to reject.
    ttl: Duration,
}

impl Revocations {
    /// Entries kept for `ttl`.
    pub fn new(cache: CacheRef, ttl: Duration) -> Self {
        Self { cache, ttl }
    }

    /// Marks sessions revoked: their access tokens fail at the next check.
    pub async fn sessions(&self, ids: &[String]) -> Result<(), AuthError> {
        for id in ids {
            self.cache
                .set(&revoked_session_key(id), b"1", Some(self.ttl))
                .await?;
        }
        Ok(())
    }

    /// The user's cutoff: tokens issued at or before it are revoked.
    pub async fn cutoff(&self, user_id: &str) -> Result<Option<i64>, AuthError> {
        let Some(raw) = self.cache.get(&revoked_before_key(user_id)).await? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&raw).unwrap_or_default();
        text.parse().map(Some).map_err(|_| {
            AuthError::Internal(format!("unreadable revocation cutoff for user {user_id}"))
        })
    }

    /// Revokes every token of `user_id` issued at or before `cutoff_secs` (Unix seconds).
    pub async fn user_before(&self, user_id: &str, cutoff_secs: i64) -> Result<(), AuthError> {
        self.cache
            .set(
                &revoked_before_key(user_id),
                cutoff_secs.to_string().as_bytes(),
                Some(self.ttl),
            )
            .await?;
        Ok(())
    }
}
