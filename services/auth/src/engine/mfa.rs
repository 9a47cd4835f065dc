//! TOTP (RFC 6238: SHA1, 6 digits, 30 s steps, ±1 step of skew) with
//! replay protection, and single-use recovery codes.

use totp_rs::{Algorithm, TOTP};

use super::{Engine, Principal};
use crate::AuthError;
use crate::clock::{now_ms, now_secs};
use crate::crypto::{ct_eq, random_bytes, recovery_code, recovery_code_hash};
use crate::model::{RecoveryCodes, TotpEnrolment};
use crate::throttle::Action;

/// Seconds per TOTP step.
pub const STEP_SECS: u64 = 30;
/// Recovery codes issued at confirmation.
pub const RECOVERY_CODES: usize = 10;

impl Engine {
    /// Starts an enrolment: a new 160-bit secret, pending until confirmed.
    pub async fn enrol_totp(&self, who: &Principal) -> Result<TotpEnrolment, AuthError> {
        let account = self.account_of(who).await?;
        let secret = random_bytes::<20>().to_vec();
        if !self
            .store
            .put_pending_totp(&account.id, &secret, now_ms())
            .await?
        {
            return Err(AuthError::Conflict(
                "TOTP is already enabled; disable it first".into(),
            ));
        }
        let totp = totp(
            secret,
            Some(self.config.totp_issuer.clone()),
            account.identifier,
        );
        Ok(TotpEnrolment {
            secret: totp.get_secret_base32(),
            otpauth_uri: totp.get_url(),
        })
    }

    /// Enables TOTP with a first code; returns the recovery codes (shown once).
    pub async fn confirm_totp(
        &self,
        who: &Principal,
        code: &str,
    ) -> Result<RecoveryCodes, AuthError> {
        self.mfa_throttle(&who.user_id).await?;
        let row = self
            .store
            .totp(&who.user_id)
            .await?
            .filter(|t| !t.enabled)
            .ok_or_else(|| {
                AuthError::Conflict("no pending TOTP enrolment; start one first".into())
            })?;
        let step = matching_step(&row.secret, code, now_secs())
            .ok_or(AuthError::MfaFailed("invalid TOTP code"))?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| recovery_code_hash(&who.user_id, c))
            .collect();
        let mut tx = self.store.begin().await?;
        if !self.store.enable_totp(&mut tx, &who.user_id, step).await? {
            return Err(AuthError::Conflict("TOTP is already enabled".into()));
        }
        self.store
            .replace_recovery_codes(&mut tx, &who.user_id, &hashes)
            .await?;
        self.store.commit(tx).await?;
        tracing::info!(user_id = %who.user_id, "TOTP enabled");
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }

    /// Turns MFA off; needs a current TOTP code or an unused recovery code.
    pub async fn disable_totp(
        &self,
        who: &Principal,
        code: Option<&str>,
        recovery_code: Option<&str>,
    ) -> Result<(), AuthError> {
        self.check_second_factor(&who.user_id, code, recovery_code)
            .await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_mfa(&mut tx, &who.user_id).await?;
        self.store.commit(tx).await?;
        tracing::info!(user_id = %who.user_id, "TOTP disabled");
        Ok(())
    }

    /// Accepts exactly one of a TOTP code (not replayed) or a recovery code (spent).
    pub(super) async fn check_second_factor(
        &self,
        user_id: &str,
        code: Option<&str>,
        recovery: Option<&str>,
    ) -> Result<(), AuthError> {
        self.mfa_throttle(user_id).await?;
        let outcome = match (code, recovery) {
            (Some(code), None) => self.check_totp(user_id, code).await?,
            (None, Some(recovery)) => {
                let hash = recovery_code_hash(user_id, recovery);
                if self
                    .store
                    .use_recovery_code(user_id, &hash, now_ms())
                    .await?
                {
                    tracing::info!(user_id, "recovery code used");
                    Ok(())
                } else {
                    Err("invalid or used recovery code")
                }
            }
            _ => {
                return Err(AuthError::invalid(
                    "give exactly one of `code` or `recovery_code`",
                ));
            }
        };
        let label = match &outcome {
            Ok(()) => "ok",
            Err(m) if m.contains("already used") => "replay",
            Err(_) => "invalid",
        };
        metrics::counter!(crate::metrics::MFA_CHECKS, "outcome" => label).increment(1);
        outcome.map_err(AuthError::MfaFailed)
    }

    async fn check_totp(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<Result<(), &'static str>, AuthError> {
        let Some(row) = self.store.totp(user_id).await?.filter(|t| t.enabled) else {
            return Ok(Err("TOTP is not enabled"));
        };
        let Some(step) = matching_step(&row.secret, code, now_secs()) else {
            return Ok(Err("invalid TOTP code"));
        };
        if step <= row.last_step || !self.store.advance_totp_step(user_id, step).await? {
            return Ok(Err("TOTP code already used; wait for the next one"));
        }
        Ok(Ok(()))
    }

    async fn mfa_throttle(&self, user_id: &str) -> Result<(), AuthError> {
        self.throttle.hit(Action::Mfa, user_id).await
    }
}

fn totp(secret: Vec<u8>, issuer: Option<String>, account: String) -> TOTP {
    // Unchecked: the secret is ours (160 bits) and account names may hold ':'.
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP_SECS, secret, issuer, account)
}

/// The time-step within ±1 of now whose code equals `code`, compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now_secs: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret.to_vec(), None, String::new());
    let current = now_secs / STEP_SECS as i64;
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let expected = totp.generate((step.max(0) as u64) * STEP_SECS);
        if ct_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector_and_skew() {
        // RFC 6238 appendix B, SHA1 secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
        let secret = b"12345678901234567890".to_vec();
        let totp8 = TOTP::new_unchecked(
            Algorithm::SHA1,
            8,
            1,
            30,
            secret.clone(),
            None,
            String::new(),
        );
        assert_eq!(totp8.generate(59), "94287082");
        let now = 1_700_000_000i64;
        let code = totp(secret.clone(), None, String::new()).generate(now as u64);
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
    }
}
