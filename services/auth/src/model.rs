//! What the API returns: token pairs, login outcomes, sessions, MFA material.

use serde::Serialize;
use utoipa::ToSchema;

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    /// Always false here; lets clients branch on one field after login.
    pub mfa_required: bool,
    /// EdDSA JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single use: each refresh returns a new one. Reusing an old one
    /// revokes the session.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    /// The session these tokens belong to.
    pub session_id: String,
    /// The user.
    pub user_id: String,
}

/// The password was right and the account has MFA: send a code with this ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Short-lived, single-use ticket for `POST /v1/auth/login/mfa`.
    pub mfa_ticket: String,
    /// Seconds until the ticket expires.
    pub expires_in: u64,
}

/// What a login returns: tokens, or an MFA challenge (`mfa_required`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    /// Logged in.
    Tokens(TokenPair),
    /// A second factor is needed.
    Mfa(MfaChallenge),
}

/// One live session (device) of the caller.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Device id given at login.
    pub device_id: String,
    /// Device name (renameable).
    pub device_name: String,
    /// `User-Agent` at login.
    pub user_agent: String,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms of the last login or refresh.
    pub last_used_at_ms: i64,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

/// A started TOTP enrolment: show the URI as a QR code, then confirm with a code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The shared secret, base32 without padding (for manual entry).
    pub secret: String,
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` (SHA1, 6 digits, 30 s).
    pub otpauth_uri: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes; each replaces a TOTP code once.
    pub recovery_codes: Vec<String>,
}

/// The caller's account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    /// User id.
    pub user_id: String,
    /// `email` or `phone`.
    pub channel: String,
    /// The normalised email or phone.
    pub identifier: String,
    /// Whether it was verified with a code.
    pub verified: bool,
    /// Roles in access tokens.
    pub roles: Vec<String>,
    /// Whether TOTP is enabled.
    pub mfa_enabled: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// The session of this request.
    pub session_id: String,
    /// The device of this request's session.
    pub device_id: String,
}

/// A signing-key rotation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rotation {
    /// The new key's id, already in the JWKS.
    pub kid: String,
    /// When it starts signing (Unix ms).
    pub activates_at_ms: i64,
    /// Every kid now in the JWKS.
    pub published: Vec<String>,
}
