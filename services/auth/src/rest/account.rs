//! Registration, verification, password reset and change, and `me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chatflow_runtime::ApiJson;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{Caller, RestError};
use super::{Accepted, ErrorBody};
use crate::engine::Engine;
use crate::identity::Identifier;
use crate::model::Me;

/// Body of `POST /v1/auth/register`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// An email address (lower-cased), or give `phone`.
    pub email: Option<String>,
    /// An E.164 phone number such as `+14155550123`, or give `email`.
    pub phone: Option<String>,
    /// 10 to 256 characters, not only whitespace.
    pub password: String,
}

/// Names an account: exactly one of `email` or `phone`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierRequest {
    /// The account's email.
    pub email: Option<String>,
    /// The account's phone.
    pub phone: Option<String>,
}

/// Body of `POST /v1/auth/verify`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The account's email.
    pub email: Option<String>,
    /// The account's phone.
    pub phone: Option<String>,
    /// The six-digit code that was sent.
    pub code: String,
}

/// Body of `POST /v1/auth/password/reset`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The account's email.
    pub email: Option<String>,
    /// The account's phone.
    pub phone: Option<String>,
    /// The six-digit reset code that was sent.
    pub code: String,
    /// The new password (10 to 256 characters).
    pub new_password: String,
}

/// Body of `POST /v1/auth/password/change`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password now.
    pub current_password: String,
    /// The new password (10 to 256 characters).
    pub new_password: String,
}

fn identifier(email: &Option<String>, phone: &Option<String>) -> Result<Identifier, RestError> {
    Ok(Identifier::from_parts(email.as_deref(), phone.as_deref())?)
}

/// Creates an unverified account and sends a verification code (event
/// `chatflow.auth.verification_requested`). The answer is the same whether or
/// not the identifier already has an account.
#[utoipa::path(post, path = "/v1/auth/register", request_body = RegisterRequest, tag = "account",
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Accepted>), RestError> {
    let id = identifier(&body.email, &body.phone)?;
    engine.register(&id, body.password).await?;
    Ok((StatusCode::ACCEPTED, Accepted::new()))
}

/// Verifies the account's email or phone with the code sent to it (5 attempts per code, 10 minutes).
#[utoipa::path(post, path = "/v1/auth/verify", request_body = VerifyRequest, tag = "account",
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn verify(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<StatusCode, RestError> {
    let id = identifier(&body.email, &body.phone)?;
    engine.verify(&id, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a new verification code to an unverified account (same answer otherwise).
#[utoipa::path(post, path = "/v1/auth/verify/resend", request_body = IdentifierRequest, tag = "account",
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn resend(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<IdentifierRequest>,
) -> Result<(StatusCode, Json<Accepted>), RestError> {
    let id = identifier(&body.email, &body.phone)?;
    engine.resend_verification(&id).await?;
    Ok((StatusCode::ACCEPTED, Accepted::new()))
}

/// Sends a password-reset code if the account exists (same answer otherwise).
#[utoipa::path(post, path = "/v1/auth/password/reset/request", request_body = IdentifierRequest, tag = "account",
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reset_request(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<IdentifierRequest>,
) -> Result<(StatusCode, Json<Accepted>), RestError> {
    let id = identifier(&body.email, &body.phone)?;
    engine.request_password_reset(&id).await?;
    Ok((StatusCode::ACCEPTED, Accepted::new()))
}

/// Sets a new password with a reset code; revokes every session of the account.
#[utoipa::path(post, path = "/v1/auth/password/reset", request_body = ResetRequest, tag = "account",
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn reset(
    State(engine): State<Engine>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, RestError> {
    let id = identifier(&body.email, &body.phone)?;
    engine
        .reset_password(&id, &body.code, body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password; the caller's other sessions are revoked.
#[utoipa::path(post, path = "/v1/auth/password/change", request_body = ChangePasswordRequest, tag = "account",
    security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn change_password(
    State(engine): State<Engine>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, RestError> {
    engine
        .change_password(&who, body.current_password, body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/auth/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(engine): State<Engine>, Caller(who): Caller) -> Result<Json<Me>, RestError> {
    Ok(Json(engine.me(&who).await?))
}
