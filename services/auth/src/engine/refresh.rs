//! Refresh-token rotation with reuse detection: every refresh token works
//! once; presenting one that was already rotated away means two parties hold
//! the session (one of them stole it), so the whole family is revoked.

use super::Engine;
use crate::AuthError;
use crate::clock::{now_ms, secs_to_ms};
use crate::crypto::{REFRESH_PREFIX, opaque_token, sha256_hex};
use crate::model::TokenPair;
use crate::store::Which;

impl Engine {
    /// Rotates a refresh token. A token that was already rotated away is
    /// evidence of theft: its whole session is revoked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let invalid = || AuthError::Unauthenticated("invalid or expired refresh token".into());
        let hash = sha256_hex(refresh_token.as_bytes());
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let Some(found) = self.store.refresh_token(&mut tx, &hash).await? else {
            metrics::counter!(crate::metrics::REFRESHES, "outcome" => "invalid").increment(1);
            return Err(invalid());
        };
        let session = found.session;
        if session.revoked_at_ms.is_some() || found.expires_at_ms <= now {
            metrics::counter!(crate::metrics::REFRESHES, "outcome" => "invalid").increment(1);
            return Err(invalid());
        }
        if found.used_at_ms.is_some() || !self.store.spend_refresh(&mut tx, &hash, now).await? {
            metrics::counter!(crate::metrics::REFRESHES, "outcome" => "reuse").increment(1);
            tracing::warn!(user_id = %session.user_id, session_id = %session.id, "refresh token reuse; revoking the session");
            let revoked = self
                .store
                .revoke_sessions(
                    &mut tx,
                    &session.user_id,
                    Which::One(&session.id),
                    "refresh_token_reuse",
                    now,
                )
                .await?;
            self.announce_revoked(tx, &session.user_id, revoked, "refresh_token_reuse")
                .await?;
            self.revocations
                .sessions(std::slice::from_ref(&session.id))
                .await?;
            return Err(AuthError::Unauthenticated(
                "refresh token already used; the session has been revoked".into(),
            ));
        }
        let refresh = opaque_token(REFRESH_PREFIX);
        let refresh_expires = now + secs_to_ms(self.config.refresh_token_ttl_secs);
        self.store
            .insert_refresh(
                &mut tx,
                &sha256_hex(refresh.as_bytes()),
                &session.id,
                refresh_expires,
                now,
            )
            .await?;
        self.store.touch_session(&mut tx, &session.id, now).await?;
        self.store.commit(tx).await?;
        // Never read through the pool while holding `tx`: SQLite has one connection.
        let account = self
            .store
            .account(&session.user_id)
            .await?
            .ok_or_else(invalid)?;
        metrics::counter!(crate::metrics::REFRESHES, "outcome" => "rotated").increment(1);
        self.pair(
            &session.user_id,
            &session.id,
            &session.device_id,
            &account.roles,
            refresh,
        )
        .await
    }
}
