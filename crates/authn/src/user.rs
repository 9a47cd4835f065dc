//! [`AuthenticatedUser`]: who a verified access token speaks for.

use crate::AuthnError;
use crate::claims::AccessClaims;

/// The caller behind a verified, unrevoked access token.
///
/// Handlers take it from the axum extractor [`crate::Authenticated`] or, in
/// gRPC services behind [`crate::GrpcAuthLayer`], from the request extensions
/// with [`crate::grpc_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// The user id (`sub`, a UUID string).
    pub user_id: String,
    /// The session id (`sid`); revoking it ends this token everywhere.
    pub session_id: String,
    /// The device id the client chose at login (`did`).
    pub device_id: String,
    /// The user's roles, e.g. `["user", "operator"]`.
    pub roles: Vec<String>,
    /// When the token expires (unix seconds): long-lived connections such as
    /// WebSockets must re-authenticate or close by then.
    pub expires_at: i64,
}

impl AuthenticatedUser {
    /// Whether the user has `role` (exact, case-sensitive match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// `Ok` if the user has `role`, else [`AuthnError::MissingRole`] (403).
    pub fn require_role(&self, role: &str) -> Result<(), AuthnError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(AuthnError::MissingRole(role.to_owned()))
        }
    }
}

impl From<AccessClaims> for AuthenticatedUser {
    fn from(claims: AccessClaims) -> Self {
        Self {
            user_id: claims.sub,
            session_id: claims.sid,
            device_id: claims.did,
            roles: claims.roles,
            expires_at: claims.exp,
        }
    }
}

/// A role an axum handler can demand in its signature with [`crate::RequireRole`].
///
/// ```
/// struct Moderator;
/// impl chatflow_authn::Role for Moderator {
///     const NAME: &'static str = "moderator";
/// }
/// ```
pub trait Role: Send + Sync + 'static {
    /// The role string as it appears in the token's `roles` claim.
    const NAME: &'static str;
}

/// The `operator` role: runs the platform (config admin API, moderation tools).
#[derive(Debug, Clone, Copy, Default)]
pub struct Operator;

impl Role for Operator {
    const NAME: &'static str = "operator";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_match_exactly() {
        let user = AuthenticatedUser {
            user_id: "u".into(),
            session_id: "s".into(),
            device_id: "d".into(),
            roles: vec!["user".into(), "operator".into()],
            expires_at: 0,
        };
        assert!(user.has_role("operator"));
        assert!(!user.has_role("Operator"));
        assert_eq!(
            user.require_role("admin"),
            Err(AuthnError::MissingRole("admin".into()))
        );
    }
}
