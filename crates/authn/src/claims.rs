//! The access-token claims shared by the issuer (`services/auth`) and every verifier,
//! plus the cache keys of the revocation list.

/// Claims of a ChatFlow access token (JWT, alg EdDSA/Ed25519, header has `kid`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessClaims {
    /// Issuer, from config (default "chatflow-auth").
    pub iss: String,
    /// Audience, from config (default "chatflow").
    pub aud: String,
    /// User id (UUID string).
    pub sub: String,
    /// Session id (UUID string); revocation is per session.
    pub sid: String,
    /// Device id chosen by the client at login (≤ 64 chars).
    pub did: String,
    /// Roles, e.g. `["user"]`, `["user","operator"]`.
    pub roles: Vec<String>,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
}

/// Default `iss` of access tokens.
pub const DEFAULT_ISSUER: &str = "chatflow-auth";
/// Default `aud` of access tokens.
pub const DEFAULT_AUDIENCE: &str = "chatflow";

/// Cache key marking a session revoked (value "1", TTL ≥ max access-token lifetime + leeway).
pub fn revoked_session_key(sid: &str) -> String {
    format!("auth:revoked:session:{sid}")
}

/// Cache key holding a unix-seconds cutoff: tokens of this user issued before it are revoked (password reset, "log out everywhere").
pub fn revoked_before_key(user_id: &str) -> String {
    format!("auth:revoked:user-before:{user_id}")
}
