//! TOTP enrolment, confirmation and removal.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chatflow_runtime::ApiJson;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ErrorBody;
use super::extract::{Caller, RestError};
use super::session::MfaStepRequest;
use crate::engine::Engine;
use crate::model::{RecoveryCodes, TotpEnrolment};

/// Body of `POST /v1/auth/mfa/totp/confirm`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// A current code from the authenticator app.
    pub code: String,
}

/// Starts TOTP enrolment: returns the secret and an `otpauth://` URI (show it as a QR code).
#[utoipa::path(post, path = "/v1/auth/mfa/totp/enroll", tag = "mfa", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn enrol(
    State(engine): State<Engine>,
    Caller(who): Caller,
) -> Result<Json<TotpEnrolment>, RestError> {
    Ok(Json(engine.enrol_totp(&who).await?))
}

/// Confirms enrolment with a first code; MFA is then required at login.
/// Returns ten single-use recovery codes, shown only this once.
#[utoipa::path(post, path = "/v1/auth/mfa/totp/confirm", tag = "mfa", security(("bearer" = [])),
    request_body = ConfirmRequest,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn confirm(
    State(engine): State<Engine>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<Json<RecoveryCodes>, RestError> {
    Ok(Json(engine.confirm_totp(&who, &body.code).await?))
}

/// Disables MFA; needs a current TOTP `code` (not replayed) or a `recovery_code`.
#[utoipa::path(post, path = "/v1/auth/mfa/totp/disable", tag = "mfa", security(("bearer" = [])),
    request_body = MfaStepRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn disable(
    State(engine): State<Engine>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<MfaStepRequest>,
) -> Result<StatusCode, RestError> {
    if body.mfa_ticket.is_some() {
        return Err(crate::AuthError::invalid("`mfa_ticket` is only for login").into());
    }
    engine
        .disable_totp(&who, body.code.as_deref(), body.recovery_code.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
