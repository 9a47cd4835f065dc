//! The crate's error type and its mapping onto the shared error kinds.
//!
//! Everything wrong with a token is `Unauthenticated` (401); a missing role is
//! `PermissionDenied` (403). When the signing keys or the revocation list
//! cannot be read the answer is `Unavailable` (503): the verifier fails
//! closed and never lets a token through unchecked.

use chatflow_cache::CacheError;
use chatflow_errors::{ErrorKind, HasKind};

/// Largest accepted access token, in bytes (ours are well under 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token, role or service identity was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthnError {
    /// No `Authorization: Bearer` header (or `authorization` metadata).
    #[error("missing bearer token")]
    MissingToken,
    /// Not a compact JWS with a JSON header and the expected claims.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// Longer than [`MAX_TOKEN_BYTES`]; rejected before any parsing.
    #[error("token is too large: {0} bytes (at most {MAX_TOKEN_BYTES})")]
    TooLarge(usize),
    /// The header names another algorithm than EdDSA (`none`, HS256, RS256...).
    #[error("unsupported token algorithm `{0}`; only EdDSA is accepted")]
    UnsupportedAlgorithm(String),
    /// The header has no `kid`, so no published key can be chosen.
    #[error("token header has no key id")]
    MissingKeyId,
    /// No published key has this `kid`, even after refetching the key set.
    #[error("unknown signing key `{0}`")]
    UnknownKey(String),
    /// The signature does not verify with the published key.
    #[error("invalid token signature")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token has the wrong issuer")]
    WrongIssuer,
    /// `aud` is not the configured audience.
    #[error("token has the wrong audience")]
    WrongAudience,
    /// The session was revoked, or the user revoked every token issued before a cutoff.
    #[error("session has been revoked")]
    Revoked,
    /// The token is valid but its user lacks this role.
    #[error("missing required role `{0}`")]
    MissingRole(String),
    /// An internal call's `x-chatflow-service` assertion is missing, stale or forged.
    #[error("invalid service identity: {0}")]
    InvalidServiceIdentity(String),
    /// The signing keys could not be fetched and none cached matches: fail closed.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The revocation list (cache port) could not be read: fail closed.
    #[error("revocation list unavailable: {0}")]
    RevocationUnavailable(String),
    /// The verifier or identity was built from unusable settings.
    #[error("invalid authn configuration: {0}")]
    InvalidConfig(String),
}

impl AuthnError {
    /// A stable snake_case name for metric labels and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Malformed(_) => "malformed",
            Self::TooLarge(_) => "too_large",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::MissingKeyId => "missing_key_id",
            Self::UnknownKey(_) => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Revoked => "revoked",
            Self::MissingRole(_) => "missing_role",
            Self::InvalidServiceIdentity(_) => "invalid_service_identity",
            Self::KeysUnavailable(_) => "keys_unavailable",
            Self::RevocationUnavailable(_) => "revocation_unavailable",
            Self::InvalidConfig(_) => "invalid_config",
        }
    }
}

impl HasKind for AuthnError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingRole(_) => ErrorKind::PermissionDenied,
            Self::KeysUnavailable(_) | Self::RevocationUnavailable(_) => ErrorKind::Unavailable,
            Self::InvalidConfig(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Unauthenticated,
        }
    }
}

impl From<CacheError> for AuthnError {
    fn from(err: CacheError) -> Self {
        Self::RevocationUnavailable(err.to_string())
    }
}

impl From<jsonwebtoken::errors::Error> for AuthnError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match err.kind() {
            K::InvalidSignature => Self::InvalidSignature,
            K::ExpiredSignature => Self::Expired,
            K::ImmatureSignature => Self::NotYetValid,
            K::InvalidIssuer => Self::WrongIssuer,
            K::InvalidAudience => Self::WrongAudience,
            K::InvalidAlgorithm | K::InvalidAlgorithmName => {
                Self::UnsupportedAlgorithm("mismatch".into())
            }
            K::MissingRequiredClaim(claim) => Self::Malformed(format!("missing claim `{claim}`")),
            _ => Self::Malformed(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_problems_are_401_and_outages_fail_closed_with_503() {
        assert_eq!(AuthnError::Expired.kind(), ErrorKind::Unauthenticated);
        assert_eq!(AuthnError::Revoked.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            AuthnError::MissingRole("operator".into()).kind(),
            ErrorKind::PermissionDenied
        );
        let down = AuthnError::from(CacheError::Unavailable("timeout".into()));
        assert_eq!(down.kind(), ErrorKind::Unavailable);
        assert_eq!(down.reason(), "revocation_unavailable");
    }
}
