//! The JWKS and the operator's key rotation.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use chatflow_authn::OperatorToken;

use super::ErrorBody;
use super::extract::{RestError, bearer};
use crate::AuthError;
use crate::engine::Engine;
use crate::model::Rotation;

/// An operator: the admin token, or an access token with the `operator` role.
pub struct Operator;

impl FromRequestParts<Engine> for Operator {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, engine: &Engine) -> Result<Self, RestError> {
        let token = bearer(parts)
            .ok_or_else(|| {
                AuthError::Unauthenticated(
                    "missing bearer token (operator token or operator access token)".into(),
                )
            })?
            .to_owned();
        let admin = parts
            .extensions
            .get::<Option<OperatorToken>>()
            .cloned()
            .flatten();
        if admin.is_some_and(|t| t.matches(&token)) {
            return Ok(Self);
        }
        let who = engine
            .authenticate(&token)
            .await
            .map_err(|_| AuthError::Unauthenticated("invalid operator token".into()))?;
        if who.roles.iter().any(|r| r == "operator") {
            Ok(Self)
        } else {
            Err(AuthError::PermissionDenied("the operator role is required".into()).into())
        }
    }
}

/// The public signing keys (OKP / Ed25519, `alg` EdDSA): every key a valid
/// token may be signed with, and the next one before it signs.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "RFC 7517 JWK set", body = Object)))]
pub async fn jwks(State(engine): State<Engine>) -> Response {
    let mut response = Json(engine.keys().jwks().await).into_response();
    // Short, so verifiers see rotations; they refetch on an unknown kid anyway.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// Rotates the signing key: the new key is published now and signs after
/// `key_publish_ahead_secs`; old keys stay published until their tokens expire.
#[utoipa::path(post, path = "/v1/auth/admin/rotate-keys", tag = "keys", security(("operator" = [])),
    responses((status = 200, body = Rotation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rotate_keys(
    State(engine): State<Engine>,
    _operator: Operator,
) -> Result<Json<Rotation>, RestError> {
    let key = engine.keys().rotate().await?;
    let published = engine.keys().published_kids().await;
    Ok(Json(Rotation {
        kid: key.kid.clone(),
        activates_at_ms: key.activates_at_ms,
        published,
    }))
}

/// Body of `PUT /v1/auth/admin/accounts/{account}/roles`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    /// The roles the account should hold; `user` is always kept.
    pub roles: Vec<String>,
}

/// The roles an account now holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RolesResponse {
    /// The account.
    pub user_id: String,
    /// Sorted role names.
    pub roles: Vec<String>,
}

/// Replaces an account's roles (e.g. grants `operator`). Its access tokens
/// issued before the change stop working at once; refreshing yields tokens
/// with the new roles.
#[utoipa::path(put, path = "/v1/auth/admin/accounts/{account}/roles", tag = "admin",
    security(("operator" = [])),
    params(("account" = String, Path, description = "account id, email or E.164 phone")),
    request_body = RolesRequest,
    responses((status = 200, body = RolesResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_roles(
    State(engine): State<Engine>,
    _operator: Operator,
    axum::extract::Path(account): axum::extract::Path<String>,
    chatflow_runtime::ApiJson(body): chatflow_runtime::ApiJson<RolesRequest>,
) -> Result<Json<RolesResponse>, RestError> {
    let (user_id, roles) = engine.set_roles(&account, &body.roles).await?;
    Ok(Json(RolesResponse { user_id, roles }))
}
