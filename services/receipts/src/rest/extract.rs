//! The router state, the REST error (the shared body plus a `reason`), and
//! strict body and path extractors whose rejections use the same body.

use axum::Json;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chatflow_authn::TokenVerifier;
use chatflow_runtime::{ApiError, ApiJson};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::engine::Engine;
use crate::{ReceiptsError, metrics as m};

/// What handlers share: the engine, and the verifier `Authenticated` reads.
#[derive(Clone)]
pub struct AppState {
    /// The business logic.
    pub engine: Engine,
    /// Checks access tokens.
    pub verifier: TokenVerifier,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// A REST failure: `{"error":{"code","message","reason"}}`.
#[derive(Debug)]
pub struct RestError {
    error: ApiError,
    reason: &'static str,
}

impl RestError {
    fn rejected(error: ApiError, reason: &'static str) -> Self {
        metrics::counter!(m::REST_REJECTED, "reason" => reason).increment(1);
        Self { error, reason }
    }
}

impl From<ReceiptsError> for RestError {
    fn from(err: ReceiptsError) -> Self {
        let reason = err.reason();
        let error = ApiError::from_error(&err);
        if matches!(
            err,
            ReceiptsError::InvalidArgument(_)
                | ReceiptsError::PermissionDenied(_)
                | ReceiptsError::BeyondHead { .. }
        ) {
            return Self::rejected(error, reason);
        }
        Self { error, reason }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = json!({ "error": {
            "code": self.error.kind.as_str(),
            "message": self.error.message,
            "reason": self.reason,
        }});
        (self.error.kind.http_status(), Json(body)).into_response()
    }
}

/// A JSON body read by [`ApiJson`] (strict: unknown fields, trailing data,
/// wrong types and oversized bodies are refused), rejected as `invalid_body`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, RestError> {
        let ApiJson(value) = ApiJson::<T>::from_request(request, state)
            .await
            .map_err(|e| RestError::rejected(e, "invalid_body"))?;
        Ok(Self(value))
    }
}

/// Path parameters, with bad ones answered as a JSON 400 (`invalid_argument`).
pub struct Segments<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RestError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                RestError::rejected(
                    ApiError::invalid_argument(format!("path: {}", e.body_text())),
                    "invalid_argument",
                )
            })?;
        Ok(Self(value))
    }
}
