//! Login (password, then MFA when enabled), sessions' first tokens, and
//! refresh-token rotation with reuse detection.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::AuthError;
use crate::clock::{now_ms, secs_to_ms};
use crate::crypto::{REFRESH_PREFIX, TICKET_PREFIX, opaque_token, sha256_hex};
use crate::identity::Identifier;
use crate::model::{LoginOutcome, MfaChallenge, TokenPair};
use crate::store::NewSession;
use crate::throttle::Action;
use crate::tokens::Subject;

/// Longest device id, as `AccessClaims::did` documents.
pub const MAX_DEVICE_ID: usize = 64;
/// Longest device name.
pub const MAX_DEVICE_NAME: usize = 100;

/// Where a login comes from.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// Device id chosen by the client; generated when absent.
    pub device_id: Option<String>,
    /// Device name chosen by the client; the user agent when absent.
    pub device_name: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The client IP, for the per-IP throttle.
    pub ip: String,
}

/// What an MFA ticket remembers between the two login steps.
#[derive(Debug, Serialize, Deserialize)]
struct Ticket {
    user_id: String,
    device_id: String,
    device_name: String,
    user_agent: String,
}

impl Engine {
    /// Checks the password and returns tokens, or an MFA challenge. Unknown
    /// accounts and wrong passwords get the same error after the same work
    /// (one argon2 verification against a dummy hash).
    pub async fn login(
        &self,
        id: &Identifier,
        password: String,
        client: Client,
    ) -> Result<LoginOutcome, AuthError> {
        let (device_id, device_name) = device_of(&client)?;
        let limited = async {
            self.throttle.hit(Action::LoginIp, &client.ip).await?;
            self.throttle
                .hit(Action::LoginAccount, &id.throttle_key())
                .await
        };
        if let Err(err) = limited.await {
            metrics::counter!(crate::metrics::LOGINS, "outcome" => "throttled").increment(1);
            return Err(err);
        }
        let account = self.store.account_by_identifier(&id.value).await?;
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let checked = self.passwords.verify(password.clone(), stored).await?;
        let Some(account) = account.filter(|_| checked.matches) else {
            metrics::counter!(crate::metrics::LOGINS, "outcome" => "invalid").increment(1);
            return Err(AuthError::InvalidCredentials);
        };
        if checked.needs_rehash {
            self.upgrade_hash(&account.id, &account.password_hash, password)
                .await;
        }
        if !account.verified {
            metrics::counter!(crate::metrics::LOGINS, "outcome" => "unverified").increment(1);
            return Err(AuthError::NotVerified);
        }
        self.throttle
            .clear(Action::LoginAccount, &id.throttle_key())
            .await;
        let totp = self.store.totp(&account.id).await?;
        if totp.is_some_and(|t| t.enabled) {
            metrics::counter!(crate::metrics::LOGINS, "outcome" => "mfa_required").increment(1);
            let ticket = Ticket {
                user_id: account.id,
                device_id,
                device_name,
                user_agent: client.user_agent,
            };
            return self.challenge(&ticket).await.map(LoginOutcome::Mfa);
        }
        metrics::counter!(crate::metrics::LOGINS, "outcome" => "success").increment(1);
        let new = NewSession {
            user_id: account.id,
            device_id,
            device_name,
            user_agent: client.user_agent,
        };
        self.start_session(&new, &account.roles)
            .await
            .map(LoginOutcome::Tokens)
    }

    /// The second login step: a TOTP code or a recovery code with the ticket.
    pub async fn login_mfa(
        &self,
        ticket: &str,
        code: Option<&str>,
        recovery_code: Option<&str>,
    ) -> Result<TokenPair, AuthError> {
        if code.is_some() == recovery_code.is_some() {
            return Err(AuthError::invalid(
                "give exactly one of `code` or `recovery_code`",
            ));
        }
        let expired = || AuthError::MfaFailed("invalid or expired MFA ticket; log in again");
        let key = ticket_key(ticket);
        let raw = self.cache.get(&key).await?.ok_or_else(expired)?;
        let data: Ticket = serde_json::from_slice(&raw).map_err(|_| expired())?;
        let attempts_key = format!("{key}:attempts");
        let ttl = Duration::from_secs(self.config.mfa_ticket_ttl_secs.max(1));
        let attempts = self.cache.incr(&attempts_key, 1, Some(ttl)).await?;
        if attempts > i64::from(self.config.max_code_attempts) {
            self.cache.delete(&key).await?;
            return Err(expired());
        }
        self.check_second_factor(&data.user_id, code, recovery_code)
            .await?;
        // Single use: of two concurrent winners only one deletes the ticket.
        if !self.cache.delete(&key).await? {
            return Err(expired());
        }
        let account = self
            .store
            .account(&data.user_id)
            .await?
            .ok_or_else(expired)?;
        let new = NewSession {
            user_id: data.user_id,
            device_id: data.device_id,
            device_name: data.device_name,
            user_agent: data.user_agent,
        };
        metrics::counter!(crate::metrics::LOGINS, "outcome" => "success").increment(1);
        self.start_session(&new, &account.roles).await
    }

    /// Creates a session with its first refresh token and signs its access token.
    async fn start_session(
        &self,
        new: &NewSession,
        roles: &[String],
    ) -> Result<TokenPair, AuthError> {
        let now = now_ms();
        let session_id = uuid::Uuid::new_v4().to_string();
        let refresh = opaque_token(REFRESH_PREFIX);
        let expires = now + secs_to_ms(self.config.refresh_token_ttl_secs);
        let mut tx = self.store.begin().await?;
        self.store
            .create_session(
                &mut tx,
                &session_id,
                new,
                &sha256_hex(refresh.as_bytes()),
                expires,
                now,
            )
            .await?;
        self.store.commit(tx).await?;
        tracing::info!(user_id = %new.user_id, %session_id, "session started");
        self.pair(&new.user_id, &session_id, &new.device_id, roles, refresh)
            .await
    }

    pub(super) async fn pair(
        &self,
        user_id: &str,
        session_id: &str,
        device_id: &str,
        roles: &[String],
        refresh: String,
    ) -> Result<TokenPair, AuthError> {
        let cutoff = self.revocations.cutoff(user_id).await?;
        let access = self
            .tokens
            .issue(&Subject {
                user_id,
                session_id,
                device_id,
                roles,
                min_issued_at: cutoff.map_or(0, |c| c.saturating_add(1)),
            })
            .await?;
        Ok(TokenPair {
            mfa_required: false,
            access_token: access.token,
            token_type: "Bearer".to_owned(),
            expires_in: access.expires_in,
            refresh_token: refresh,
            refresh_expires_in: self.config.refresh_token_ttl_secs,
            session_id: session_id.to_owned(),
            user_id: user_id.to_owned(),
        })
    }

    async fn challenge(&self, ticket: &Ticket) -> Result<MfaChallenge, AuthError> {
        let token = opaque_token(TICKET_PREFIX);
        let value = serde_json::to_vec(ticket).map_err(|e| AuthError::Internal(e.to_string()))?;
        let ttl = Duration::from_secs(self.config.mfa_ticket_ttl_secs.max(1));
        self.cache
            .set(&ticket_key(&token), &value, Some(ttl))
            .await?;
        Ok(MfaChallenge {
            mfa_required: true,
            mfa_ticket: token,
            expires_in: ttl.as_secs(),
        })
    }

    /// Replaces a hash made with old parameters; failures only cost a retry next login.
    async fn upgrade_hash(&self, user_id: &str, old: &str, password: String) {
        let result = async {
            let new = self.passwords.hash(password).await?;
            self.store.upgrade_password_hash(user_id, old, &new).await
        };
        match result.await {
            Ok(true) => tracing::info!(user_id, "password hash upgraded to current parameters"),
            Ok(false) => {}
            Err(err) => tracing::warn!(user_id, error = %err, "cannot upgrade password hash"),
        }
    }
}

/// Tickets are kept under their digest, never in the clear.
fn ticket_key(ticket: &str) -> String {
    format!("auth:mfa-ticket:{}", sha256_hex(ticket.as_bytes()))
}

/// The device id and name of a login, checked.
fn device_of(client: &Client) -> Result<(String, String), AuthError> {
    let device_id = match &client.device_id {
        Some(id) => {
            let ok = !id.is_empty()
                && id.len() <= MAX_DEVICE_ID
                && id.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                return Err(AuthError::invalid(format!(
                    "`device_id` must be 1 to {MAX_DEVICE_ID} printable ASCII characters"
                )));
            }
            id.clone()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let device_name = match &client.device_name {
        Some(name) => check_device_name(name)?,
        None => client.user_agent.chars().take(MAX_DEVICE_NAME).collect(),
    };
    Ok((device_id, device_name))
}

/// 1 to 100 characters, no control characters.
pub fn check_device_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_DEVICE_NAME
        || name.chars().any(char::is_control)
    {
        return Err(AuthError::invalid(format!(
            "`device_name` must be 1 to {MAX_DEVICE_NAME} characters without control characters"
        )));
    }
    Ok(name.to_owned())
}
