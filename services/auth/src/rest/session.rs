//! Login, MFA step, refresh, logout and session management.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chatflow_runtime::ApiJson;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorBody;
use super::extract::{Caller, ClientMeta, RestError};
use crate::engine::Engine;
use crate::identity::Identifier;
use crate::model::{LoginOutcome, SessionInfo, TokenPair};

/// Body of `POST /v1/auth/login`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's email, or give `phone`.
    pub email: Option<String>,
    /// The account's phone, or give `email`.
    pub phone: Option<String>,
    /// The password.
    pub password: String,
    /// A stable id the client keeps per install (≤ 64 printable ASCII); generated when absent.
    pub device_id: Option<String>,
    /// A name for the session list, e.g. "Alice's phone"; the user agent when absent.
    pub device_name: Option<String>,
}

/// Body of `POST /v1/auth/login/mfa` and `/v1/auth/mfa/totp/disable`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaStepRequest {
    /// The ticket from the login answer (login only).
    pub mfa_ticket: Option<String>,
    /// A current six-digit TOTP code, or give `recovery_code`.
    pub code: Option<String>,
    /// An unused recovery code, or give `code`.
    pub recovery_code: Option<String>,
}

/// Body of `POST /v1/auth/token/refresh`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The latest refresh token of the session.
    pub refresh_token: String,
}

/// Body of `PATCH /v1/auth/sessions/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    /// 1 to 100 characters.
    pub device_name: String,
}

/// The caller's sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    /// Live sessions, oldest first.
    pub sessions: Vec<SessionInfo>,
}

/// How many sessions a bulk revocation ended.
#[derive(Serialize, ToSchema)]
pub struct RevokedCount {
    /// Sessions revoked.
    pub revoked: usize,
}

/// Logs in with a password. Answers tokens, or `{"mfa_required": true,
/// "mfa_ticket": …}` when TOTP is enabled. Unknown account and wrong password
/// are the same 401. Throttled per account and per IP (429 + `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/login", request_body = LoginRequest, tag = "session",
    responses((status = 200, body = LoginOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "account not verified"), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(engine): State<Engine>,
    ClientMeta(mut client): ClientMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginOutcome>, RestError> {
    let id = Identifier::from_parts(body.email.as_deref(), body.phone.as_deref())?;
    client.device_id = body.device_id;
    client.device_name = body.device_name;
    Ok(Json(engine.login(&id, body.password, client).await?))
}

/// Completes a login that answered `mfa_required`, with a TOTP or recovery code.
#[utoipa::path(post, path = "/v1/auth/login/mfa", request_body = MfaStepRequest, tag = "session",
    responses((status = 200, body = TokenPair), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_mfa(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<MfaStepRequest>,
) -> Result<Json<TokenPair>, RestError> {
    let ticket = body
        .mfa_ticket
        .ok_or_else(|| crate::AuthError::invalid("`mfa_ticket` is required"))?;
    let pair = engine
        .login_mfa(&ticket, body.code.as_deref(), body.recovery_code.as_deref())
        .await?;
    Ok(Json(pair))
}

/// Exchanges a refresh token for new tokens. Each refresh token works once;
/// presenting a used one revokes the whole session.
#[utoipa::path(post, path = "/v1/auth/token/refresh", request_body = RefreshRequest, tag = "session",
    responses((status = 200, body = TokenPair), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn refresh(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, RestError> {
    Ok(Json(engine.refresh(&body.refresh_token).await?))
}

/// Ends the current session; its tokens stop working everywhere within seconds.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "session", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(engine): State<Engine>,
    Caller(who): Caller,
) -> Result<StatusCode, RestError> {
    engine.logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the caller's live sessions (devices).
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(engine): State<Engine>,
    Caller(who): Caller,
) -> Result<Json<SessionList>, RestError> {
    Ok(Json(SessionList {
        sessions: engine.list_sessions(&who).await?,
    }))
}

/// Renames one of the caller's sessions.
#[utoipa::path(patch, path = "/v1/auth/sessions/{id}", tag = "session", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")), request_body = RenameRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rename(
    State(engine): State<Engine>,
    Caller(who): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenameRequest>,
) -> Result<StatusCode, RestError> {
    engine.rename_session(&who, &id, &body.device_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of the caller's sessions.
#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", tag = "session", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(engine): State<Engine>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, RestError> {
    engine.revoke_session(&who, &id, "revoked").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of the caller except the current one.
#[utoipa::path(post, path = "/v1/auth/sessions/revoke-others", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = RevokedCount), (status = 401, body = ErrorBody)))]
pub async fn revoke_others(
    State(engine): State<Engine>,
    Caller(who): Caller,
) -> Result<Json<RevokedCount>, RestError> {
    Ok(Json(RevokedCount {
        revoked: engine.revoke_other_sessions(&who).await?,
    }))
}
