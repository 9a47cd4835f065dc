//! The business logic behind every endpoint, independent of HTTP.
//!
//! [`Engine`] ties the store, key ring, password hasher, throttles and
//! revocation list together; each file holds one area: accounts and codes,
//! login, refresh, sessions, MFA.

mod account;
mod login;
mod mfa;
mod refresh;
mod roles;
mod sessions;

use std::ops::Deref;
use std::sync::Arc;

use chatflow_cache::CacheRef;
use chatflow_proto::auth::v1 as pb;

use crate::identity::{Channel, Identifier};
use crate::keys::KeyRing;
use crate::password::Passwords;
use crate::revocation::Revocations;
use crate::store::{AuthStore, Purpose, Tx};
use crate::throttle::Throttle;
use crate::tokens::Tokens;
use crate::{AuthError, Config, VERIFICATION_REQUESTED_TOPIC};

pub use login::Client;
pub use sessions::Principal;

/// Everything the endpoints share.
pub struct Parts {
    /// Settings.
    pub config: Config,
    /// Tables and outbox.
    pub store: AuthStore,
    /// Access-token issuing and checking.
    pub tokens: Tokens,
    /// argon2id.
    pub passwords: Passwords,
    /// Tickets, throttles and the revocation list live here.
    pub cache: CacheRef,
    /// GCRA throttles.
    pub throttle: Throttle,
    /// Revocation-list writer.
    pub revocations: Revocations,
}

/// The auth engine; cheap to clone.
#[derive(Clone)]
pub struct Engine(Arc<Parts>);

impl Deref for Engine {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl Engine {
    /// Wraps the parts.
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeyRing {
        self.tokens.keys()
    }

    /// Issues a code in `tx` and enqueues its delivery event; logs it in development.
    async fn send_code(
        &self,
        tx: &mut Tx,
        account_id: &str,
        to: &Identifier,
        purpose: Purpose,
    ) -> Result<(), AuthError> {
        let code = crate::crypto::six_digit_code();
        let now = crate::clock::now_ms();
        let ttl_ms = crate::clock::secs_to_ms(self.config.verification_code_ttl_secs);
        let expires = self
            .store
            .issue_code(tx, account_id, purpose, &code, ttl_ms, now)
            .await?;
        let event = pb::VerificationRequested {
            account_id: account_id.to_owned(),
            channel: proto_channel(to.channel) as i32,
            destination: to.value.clone(),
            purpose: match purpose {
                Purpose::Verify => pb::Purpose::VerifyAccount,
                Purpose::Reset => pb::Purpose::ResetPassword,
            } as i32,
            code: code.clone(),
            expires_at: Some(timestamp(expires)),
        };
        self.store
            .enqueue(tx, VERIFICATION_REQUESTED_TOPIC, account_id, &event)
            .await?;
        metrics::counter!(crate::metrics::CODES_ISSUED, "purpose" => purpose.as_str()).increment(1);
        if self.config.log_verification_codes {
            tracing::info!(
                destination = %to.value,
                purpose = purpose.as_str(),
                %code,
                "verification code (development only; never logged in production)"
            );
        }
        Ok(())
    }

    /// Writes revoked sessions to the revocation list and announces them.
    async fn announce_revoked(
        &self,
        mut tx: Tx,
        user_id: &str,
        ids: Vec<String>,
        reason: &'static str,
    ) -> Result<(), AuthError> {
        if !ids.is_empty() {
            let event = pb::SessionsRevoked {
                user_id: user_id.to_owned(),
                session_ids: ids.clone(),
                reason: reason.to_owned(),
            };
            self.store
                .enqueue(&mut tx, crate::SESSIONS_REVOKED_TOPIC, user_id, &event)
                .await?;
        }
        self.store.commit(tx).await?;
        // After the commit, so the list never names a session SQL still
        // holds live; a failure here is reported and the caller retries.
        self.revocations.sessions(&ids).await?;
        metrics::counter!(crate::metrics::SESSIONS_REVOKED, "reason" => reason)
            .increment(ids.len() as u64);
        if !ids.is_empty() {
            tracing::info!(user_id, count = ids.len(), reason, "sessions revoked");
        }
        Ok(())
    }
}

/// How the delivery bridges name a channel.
pub(crate) fn proto_channel(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Email => pb::Channel::Email,
        Channel::Phone => pb::Channel::Sms,
    }
}

/// A protobuf timestamp from Unix milliseconds.
pub(crate) fn timestamp(ms: i64) -> chatflow_proto::prost_types::Timestamp {
    chatflow_proto::prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}
