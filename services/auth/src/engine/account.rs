//! Registration, verification codes, password change and reset.
//!
//! None of these tell whether an identifier has an account: registering a
//! taken identifier, asking for codes for an unknown one, or entering a code
//! for it all answer exactly like the ordinary case.

use chatflow_proto::auth::v1 as pb;

use super::{Engine, Principal};
use crate::AuthError;
use crate::clock::{now_ms, now_secs};
use crate::identity::{Identifier, check_password};
use crate::model::Me;
use crate::store::{Account, Purpose, Which};
use crate::throttle::Action;

impl Engine {
    /// Creates an unverified account (or re-claims an unverified one) and
    /// sends a verification code. A verified account is left alone, with the
    /// same answer, so registration does not reveal who has an account.
    pub async fn register(&self, id: &Identifier, password: String) -> Result<(), AuthError> {
        check_password("password", &password)?;
        self.throttle.hit(Action::Codes, &id.throttle_key()).await?;
        // Hash first: the cost is the same whichever branch follows.
        let hash = self.passwords.hash(password).await?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let account_id = match self
            .store
            .account_by_identifier_in(&mut tx, &id.value)
            .await?
        {
            Some(existing) if existing.verified => {
                tracing::info!(account_id = %existing.id, "registration for an existing verified account ignored");
                return Ok(());
            }
            Some(existing) => {
                self.store
                    .set_password_hash(&mut tx, &existing.id, &hash, now)
                    .await?;
                existing.id
            }
            None => {
                let account = Account {
                    id: uuid::Uuid::now_v7().to_string(),
                    identifier: id.value.clone(),
                    channel: id.channel.as_str().to_owned(),
                    password_hash: hash,
                    verified: false,
                    roles: vec!["user".to_owned()],
                };
                match self.store.insert_account(&mut tx, &account, now).await {
                    Ok(()) => account.id,
                    // A concurrent registration of the same identifier won.
                    Err(AuthError::Sql(chatflow_sql::SqlError::AlreadyExists(_))) => return Ok(()),
                    Err(other) => return Err(other),
                }
            }
        };
        self.send_code(&mut tx, &account_id, id, Purpose::Verify)
            .await?;
        self.store.commit(tx).await?;
        tracing::info!(%account_id, channel = id.channel.as_str(), "account registered; verification pending");
        Ok(())
    }

    /// Sends a new verification code if the account exists and is unverified.
    pub async fn resend_verification(&self, id: &Identifier) -> Result<(), AuthError> {
        self.throttle.hit(Action::Codes, &id.throttle_key()).await?;
        let mut tx = self.store.begin().await?;
        if let Some(account) = self
            .store
            .account_by_identifier_in(&mut tx, &id.value)
            .await?
            && !account.verified
        {
            self.send_code(&mut tx, &account.id, id, Purpose::Verify)
                .await?;
            self.store.commit(tx).await?;
        }
        Ok(())
    }

    /// Marks the account verified if `code` is its live verification code.
    pub async fn verify(&self, id: &Identifier, code: &str) -> Result<(), AuthError> {
        let account = self
            .store
            .account_by_identifier(&id.value)
            .await?
            .ok_or(AuthError::InvalidCode)?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let ok = self
            .store
            .consume_code(
                &mut tx,
                &account.id,
                Purpose::Verify,
                code,
                self.config.max_code_attempts,
                now,
            )
            .await?;
        if ok {
            self.store.mark_verified(&mut tx, &account.id, now).await?;
            let event = pb::AccountVerified {
                account_id: account.id.clone(),
                channel: super::proto_channel(id.channel) as i32,
                identifier: id.value.clone(),
                verified_at: Some(super::timestamp(now)),
            };
            self.store
                .enqueue(&mut tx, crate::ACCOUNT_VERIFIED_TOPIC, &account.id, &event)
                .await?;
        }
        // Commit either way: a wrong guess must still use up an attempt.
        self.store.commit(tx).await?;
        if !ok {
            return Err(AuthError::InvalidCode);
        }
        tracing::info!(account_id = %account.id, "account verified");
        Ok(())
    }

    /// Sends a reset code if the account exists; answers the same if not.
    pub async fn request_password_reset(&self, id: &Identifier) -> Result<(), AuthError> {
        self.throttle.hit(Action::Codes, &id.throttle_key()).await?;
        let mut tx = self.store.begin().await?;
        if let Some(account) = self
            .store
            .account_by_identifier_in(&mut tx, &id.value)
            .await?
        {
            self.send_code(&mut tx, &account.id, id, Purpose::Reset)
                .await?;
            self.store.commit(tx).await?;
        }
        Ok(())
    }

    /// Sets a new password with a reset code, verifies the identifier (the
    /// code proved it) and revokes every session of the account.
    pub async fn reset_password(
        &self,
        id: &Identifier,
        code: &str,
        new_password: String,
    ) -> Result<(), AuthError> {
        check_password("new_password", &new_password)?;
        let account = self
            .store
            .account_by_identifier(&id.value)
            .await?
            .ok_or(AuthError::InvalidCode)?;
        let mut tx = self.store.begin().await?;
        let ok = self
            .store
            .consume_code(
                &mut tx,
                &account.id,
                Purpose::Reset,
                code,
                self.config.max_code_attempts,
                now_ms(),
            )
            .await?;
        self.store.commit(tx).await?;
        if !ok {
            return Err(AuthError::InvalidCode);
        }
        // The code is spent; hashing happens outside any transaction.
        let hash = self.passwords.hash(new_password).await?;
        self.replace_password(&account.id, &hash, Which::All, "password_reset")
            .await?;
        tracing::info!(account_id = %account.id, "password reset; all sessions revoked");
        Ok(())
    }

    /// Changes the password of the caller (current password required) and
    /// revokes the caller's other sessions.
    pub async fn change_password(
        &self,
        who: &Principal,
        current: String,
        new_password: String,
    ) -> Result<(), AuthError> {
        check_password("new_password", &new_password)?;
        self.throttle
            .hit(Action::LoginAccount, &who.user_id)
            .await?;
        let account = self.account_of(who).await?;
        let checked = self
            .passwords
            .verify(current, Some(account.password_hash))
            .await?;
        if !checked.matches {
            return Err(AuthError::PermissionDenied(
                "current password is wrong".into(),
            ));
        }
        let hash = self.passwords.hash(new_password).await?;
        self.replace_password(
            &account.id,
            &hash,
            Which::AllExcept(&who.session_id),
            "password_change",
        )
        .await
    }

    /// The caller's account.
    pub async fn me(&self, who: &Principal) -> Result<Me, AuthError> {
        let account = self.account_of(who).await?;
        let totp = self.store.totp(&account.id).await?;
        Ok(Me {
            user_id: account.id.clone(),
            channel: account.channel,
            identifier: account.identifier,
            verified: account.verified,
            roles: account.roles,
            mfa_enabled: totp.is_some_and(|t| t.enabled),
            recovery_codes_left: self.store.recovery_codes_left(&account.id).await?,
            session_id: who.session_id.clone(),
            device_id: who.device_id.clone(),
        })
    }

    pub(super) async fn account_of(&self, who: &Principal) -> Result<Account, AuthError> {
        self.store
            .account(&who.user_id)
            .await?
            .ok_or_else(|| AuthError::Unauthenticated("account no longer exists".into()))
    }

    /// Stores the new hash and revokes sessions in one transaction; for a
    /// full revocation also writes the user's "revoked before" cutoff.
    async fn replace_password(
        &self,
        user_id: &str,
        hash: &str,
        which: Which<'_>,
        reason: &'static str,
    ) -> Result<(), AuthError> {
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        self.store
            .set_password_hash(&mut tx, user_id, hash, now)
            .await?;
        if matches!(which, Which::All) {
            self.store.mark_verified(&mut tx, user_id, now).await?;
        }
        let revoked = self
            .store
            .revoke_sessions(&mut tx, user_id, which, reason, now)
            .await?;
        self.announce_revoked(tx, user_id, revoked, reason).await?;
        if matches!(which, Which::All) {
            self.revocations.user_before(user_id, now_secs()).await?;
        }
        Ok(())
    }
}
