//! axum glue: the [`Authenticated`] and [`RequireRole`] extractors.
//!
//! Both take the [`TokenVerifier`] from the router state (`FromRef`), read
//! `Authorization: Bearer <jwt>`, and reject with the shared JSON error body
//! of [`ApiError`] plus an RFC 6750 `WWW-Authenticate` challenge:
//! `Bearer realm="chatflow"` when no token was sent, `Bearer
//! error="invalid_token"` for any bad token (401), `Bearer
//! error="insufficient_scope"` for a missing role (403). An outage of the
//! key set or the revocation list is 503 — never a pass.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_runtime::ApiError;

use crate::{AuthenticatedUser, AuthnError, Role, TokenVerifier};

/// The caller of a handler, proven by a valid, unrevoked bearer token.
///
/// ```
/// use chatflow_authn::Authenticated;
///
/// async fn me(Authenticated(user): Authenticated) -> String {
///     user.user_id
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub AuthenticatedUser);

impl<S> FromRequestParts<S> for Authenticated
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthnError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthnError> {
        // Verified already for this request (by another extractor or a layer).
        if let Some(user) = parts.extensions.get::<AuthenticatedUser>() {
            return Ok(Self(user.clone()));
        }
        let authorization = match parts.headers.get(header::AUTHORIZATION) {
            Some(value) => Some(value.to_str().map_err(|_| {
                crate::metrics::rejected(AuthnError::Malformed(
                    "authorization header is not ASCII".into(),
                ))
            })?),
            None => None,
        };
        let user = TokenVerifier::from_ref(state)
            .verify_bearer(authorization)
            .await?;
        parts.extensions.insert(user.clone());
        Ok(Self(user))
    }
}

/// An [`Authenticated`] caller who also has role `R`, else 403.
///
/// ```
/// use chatflow_authn::{Operator, RequireRole};
///
/// async fn rotate_keys(RequireRole(operator, _): RequireRole<Operator>) -> String {
///     format!("rotated by {}", operator.user_id)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireRole<R>(pub AuthenticatedUser, pub PhantomData<R>);

impl<R> RequireRole<R> {
    /// The authenticated user.
    pub fn into_inner(self) -> AuthenticatedUser {
        self.0
    }
}

impl<R, S> FromRequestParts<S> for RequireRole<R>
where
    R: Role,
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthnError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthnError> {
        let Authenticated(user) = Authenticated::from_request_parts(parts, state).await?;
        user.require_role(R::NAME)
            .map_err(crate::metrics::rejected)?;
        Ok(Self(user, PhantomData))
    }
}

/// The shared JSON error body with the matching `WWW-Authenticate` challenge.
impl IntoResponse for AuthnError {
    fn into_response(self) -> Response {
        let challenge = match (&self, self.kind()) {
            (Self::MissingToken, _) => Some(r#"Bearer realm="chatflow""#),
            (_, ErrorKind::Unauthenticated) => Some(r#"Bearer error="invalid_token""#),
            (_, ErrorKind::PermissionDenied) => Some(r#"Bearer error="insufficient_scope""#),
            _ => None,
        };
        let mut response = ApiError::from_error(&self).into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
