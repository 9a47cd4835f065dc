//! The `auth` service: credentials, sessions and signing keys.
//!
//! Accounts register with an email or E.164 phone and a password (argon2id),
//! prove the identifier with a six-digit code delivered through the
//! `chatflow.auth.verification_requested` event, and log in for an EdDSA
//! access token ([`chatflow_authn::claims::AccessClaims`]) plus an opaque,
//! rotating refresh token whose reuse revokes its session. TOTP MFA with
//! recovery codes guards login when enabled. Signing keys rotate with
//! publish-ahead and are served as a JWKS at `/.well-known/jwks.json` (and in
//! process through [`JwksSource`]). Revocations are written to the cache
//! port's revocation list so every verifier rejects revoked sessions within
//! seconds. REST lives under `/v1/auth`, documented at `/v1/auth/openapi.json`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod clock;
mod crypto;
mod engine;
mod error;
mod identity;
mod keys;
mod launcher;
mod metrics;
mod model;
mod password;
mod rest;
mod revocation;
mod service;
mod settings;
mod store;
mod throttle;
mod tokens;

pub use error::AuthError;
pub use launcher::AuthLauncher;
pub use rest::openapi;
pub use service::{AuthService, Deps, JwksSource, Listeners, PasswordCounter};
pub use settings::{Argon2Config, Config, Limit, ThrottleConfig};

/// Verification and reset codes for the email and SMS bridges to deliver.
pub const VERIFICATION_REQUESTED_TOPIC: &str = "chatflow.auth.verification_requested";
/// Proven identifiers, for the profile service's discovery directory.
pub const ACCOUNT_VERIFIED_TOPIC: &str = "chatflow.auth.account_verified";
/// Revoked sessions, for the gateway to close their connections.
pub const SESSIONS_REVOKED_TOPIC: &str = "chatflow.auth.sessions_revoked";
