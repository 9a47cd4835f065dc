//! Authenticating callers by access token, and managing their sessions.

use super::Engine;
use super::login::check_device_name;
use crate::AuthError;
use crate::clock::now_ms;
use crate::model::SessionInfo;
use crate::store::Which;

/// The caller of an authenticated endpoint, from a verified access token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `sub`.
    pub user_id: String,
    /// `sid`.
    pub session_id: String,
    /// `did`.
    pub device_id: String,
    /// `roles`.
    pub roles: Vec<String>,
}

impl Engine {
    /// Verifies an access token and that its session is still live. This
    /// service asks its own store (authoritative); other services consult the
    /// cache-held revocation list through `chatflow-authn`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.tokens.verify(token).await?;
        let live = self
            .store
            .session(&claims.sid)
            .await?
            .is_some_and(|s| s.revoked_at_ms.is_none() && s.user_id == claims.sub);
        if !live {
            return Err(AuthError::Unauthenticated("session revoked".into()));
        }
        // "Revoke everything before" (password reset, role change) holds here too.
        if self
            .revocations
            .cutoff(&claims.sub)
            .await?
            .is_some_and(|cutoff| cutoff >= claims.iat)
        {
            return Err(AuthError::Unauthenticated("token revoked".into()));
        }
        Ok(Principal {
            user_id: claims.sub,
            session_id: claims.sid,
            device_id: claims.did,
            roles: claims.roles,
        })
    }

    /// The caller's live sessions.
    pub async fn list_sessions(&self, who: &Principal) -> Result<Vec<SessionInfo>, AuthError> {
        let rows = self.store.live_sessions(&who.user_id).await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionInfo {
                current: s.id == who.session_id,
                id: s.id,
                device_id: s.device_id,
                device_name: s.device_name,
                user_agent: s.user_agent,
                created_at_ms: s.created_at_ms,
                last_used_at_ms: s.last_used_at_ms,
            })
            .collect())
    }

    /// Renames one of the caller's live sessions.
    pub async fn rename_session(
        &self,
        who: &Principal,
        id: &str,
        name: &str,
    ) -> Result<(), AuthError> {
        let name = check_device_name(name)?;
        if !self.store.rename_session(&who.user_id, id, &name).await? {
            return Err(AuthError::NotFound(format!("no live session {id}")));
        }
        Ok(())
    }

    /// Revokes one of the caller's sessions (idempotent for already revoked ones).
    pub async fn revoke_session(
        &self,
        who: &Principal,
        id: &str,
        reason: &'static str,
    ) -> Result<(), AuthError> {
        let session = self
            .store
            .session(id)
            .await?
            .filter(|s| s.user_id == who.user_id)
            .ok_or_else(|| AuthError::NotFound(format!("no session {id}")))?;
        let mut tx = self.store.begin().await?;
        let revoked = self
            .store
            .revoke_sessions(
                &mut tx,
                &who.user_id,
                Which::One(&session.id),
                reason,
                now_ms(),
            )
            .await?;
        self.announce_revoked(tx, &who.user_id, revoked, reason)
            .await?;
        // Written even when SQL had it revoked already, so a retry after a
        // cache failure still reaches the revocation list.
        self.revocations
            .sessions(std::slice::from_ref(&session.id))
            .await
    }

    /// Revokes every session of the caller but the current one; returns how many.
    pub async fn revoke_other_sessions(&self, who: &Principal) -> Result<usize, AuthError> {
        let mut tx = self.store.begin().await?;
        let revoked = self
            .store
            .revoke_sessions(
                &mut tx,
                &who.user_id,
                Which::AllExcept(&who.session_id),
                "revoked_others",
                now_ms(),
            )
            .await?;
        let count = revoked.len();
        self.announce_revoked(tx, &who.user_id, revoked, "revoked_others")
            .await?;
        Ok(count)
    }

    /// Ends the caller's own session.
    pub async fn logout(&self, who: &Principal) -> Result<(), AuthError> {
        self.revoke_session(who, &who.session_id.clone(), "logout")
            .await
    }
}
