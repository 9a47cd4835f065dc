//! The router state, the REST error (the shared body plus a `reason`), and
//! strict path and query extractors whose rejections use the same body.

use axum::Json;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chatflow_authn::TokenVerifier;
use chatflow_errors::ErrorKind;
use chatflow_runtime::{ApiError, ApiJson};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa::IntoParams;

use crate::GroupsError;
use crate::engine::Engine;

/// What handlers share: the engine, and the verifier `Authenticated` reads.
#[derive(Clone)]
pub struct AppState {
    /// The business logic.
    pub engine: Engine,
    /// Checks access tokens.
    pub verifier: TokenVerifier,
}

impl FromRef<AppState> for Engine {
    fn from_ref(state: &AppState) -> Self {
        state.engine.clone()
    }
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// A REST failure: `{"error":{"code","message","reason"}}`, where `code` is
/// the shared kind and `reason` this service's stable, finer cause.
#[derive(Debug)]
pub struct RestError {
    error: ApiError,
    reason: &'static str,
}

impl From<GroupsError> for RestError {
    fn from(err: GroupsError) -> Self {
        let reason = err.reason();
        let error = ApiError::from_error(&err);
        if error.kind == ErrorKind::InvalidArgument {
            crate::metrics::rejected(reason);
        }
        Self { error, reason }
    }
}

impl From<ApiError> for RestError {
    fn from(error: ApiError) -> Self {
        let reason = if error.kind == ErrorKind::InvalidArgument {
            crate::metrics::rejected("invalid_body");
            "invalid_body"
        } else {
            error.kind.as_str()
        };
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
/// wrong types and oversized bodies are refused), its rejection carrying the
/// `invalid_body` reason.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, RestError> {
        let ApiJson(value) = ApiJson::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// Path parameters, with bad ones answered as a JSON 400.
pub struct Segments<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RestError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| RestError::from(ApiError::invalid_argument(e.body_text())))?;
        Ok(Self(value))
    }
}

/// `?limit=&cursor=` of the list endpoints.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Entries per page: 1 to the configured maximum (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// [`PageQuery`], with bad parameters answered as a JSON 400.
pub struct Page(pub PageQuery);

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RestError> {
        let Query(query) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| RestError::from(ApiError::invalid_argument(e.body_text())))?;
        if query.cursor.as_ref().is_some_and(|c| c.len() > 128) {
            return Err(RestError::from(GroupsError::field(
                "cursor",
                "is not a cursor this API returned",
            )));
        }
        Ok(Self(query))
    }
}
