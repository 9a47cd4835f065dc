//! The `services.auth` configuration section.

use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

/// Settings of the auth service; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST API address (also serves `/.well-known/jwks.json`).
    pub http_addr: String,
    /// Bearer token for `/v1/auth/admin/*`. Required with `--production`; in
    /// development the fleet's generated `<data_dir>/operator-token` is used.
    /// Access tokens with the `operator` role are accepted too.
    pub admin_token: Option<Secret<String>>,
    /// Largest accepted REST body; auth bodies are small.
    pub max_body_bytes: usize,
    /// `iss` of issued access tokens.
    pub issuer: String,
    /// `aud` of issued access tokens.
    pub audience: String,
    /// Access-token lifetime (default 15 minutes).
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime; each rotation starts a new one (default 30 days).
    pub refresh_token_ttl_secs: u64,
    /// Clock skew verifiers tolerate; revocation entries outlive tokens by it.
    pub clock_leeway_secs: u64,
    /// How long a new signing key is published in the JWKS before it signs.
    pub key_publish_ahead_secs: u64,
    /// Lifetime of the ticket between the password and the MFA step.
    pub mfa_ticket_ttl_secs: u64,
    /// Lifetime of a verification or reset code (default 10 minutes).
    pub verification_code_ttl_secs: u64,
    /// Guesses allowed per verification code, and per MFA ticket.
    pub max_code_attempts: u32,
    /// `issuer` shown by authenticator apps in `otpauth://` URIs.
    pub totp_issuer: String,
    /// Password hashing cost.
    pub argon2: Argon2Config,
    /// Login and code throttling.
    pub throttle: ThrottleConfig,
    /// Logs verification codes at INFO so `chatflow up` works without the
    /// email/SMS bridges. Forced off with `--production`.
    pub log_verification_codes: bool,
    /// Takes the client IP from the last `X-Forwarded-For` entry (behind an ALB).
    pub trust_forwarded_for: bool,
    /// Password hashes computed at once; each holds `argon2.memory_kib` of RAM.
    pub max_concurrent_hashes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7090".to_owned(),
            admin_token: None,
            max_body_bytes: 16 * 1024,
            issuer: chatflow_authn::claims::DEFAULT_ISSUER.to_owned(),
            audience: chatflow_authn::claims::DEFAULT_AUDIENCE.to_owned(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            clock_leeway_secs: 60,
            key_publish_ahead_secs: 60,
            mfa_ticket_ttl_secs: 5 * 60,
            verification_code_ttl_secs: 10 * 60,
            max_code_attempts: 5,
            totp_issuer: "ChatFlow".to_owned(),
            argon2: Argon2Config::default(),
            throttle: ThrottleConfig::default(),
            log_verification_codes: true,
            trust_forwarded_for: false,
            max_concurrent_hashes: 4,
        }
    }
}

impl Config {
    /// How long revocation entries must live: the longest access token plus leeway.
    pub fn revocation_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.access_token_ttl_secs + self.clock_leeway_secs)
    }
}

/// argon2id cost parameters. The defaults are OWASP's minimum recommendation
/// (Password Storage Cheat Sheet): m = 19456 KiB (19 MiB), t = 2, p = 1.
/// Raising them makes stored hashes be upgraded at each user's next login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory cost in KiB (`m`).
    pub memory_kib: u32,
    /// Iterations (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// A GCRA limit: `requests` per `per_secs`, all of them allowed in a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Requests allowed per period (and in one burst).
    pub requests: u32,
    /// The period, in seconds.
    pub per_secs: u64,
}

/// Throttles on the paths attackers hammer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Login attempts per account identifier (known or not).
    pub login_per_account: Limit,
    /// Login attempts per client IP.
    pub login_per_ip: Limit,
    /// MFA code attempts (login second step, confirm, disable) per account.
    pub mfa_per_account: Limit,
    /// Verification and reset codes sent per destination.
    pub codes_per_destination: Limit,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            login_per_account: Limit {
                requests: 10,
                per_secs: 15 * 60,
            },
            login_per_ip: Limit {
                requests: 30,
                per_secs: 60,
            },
            mfa_per_account: Limit {
                requests: 10,
                per_secs: 5 * 60,
            },
            codes_per_destination: Limit {
                requests: 5,
                per_secs: 15 * 60,
            },
        }
    }
}
