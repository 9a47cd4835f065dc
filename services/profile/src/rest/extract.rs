//! The router state, the REST error with `Retry-After`, and strict
//! extractors for path and query parameters (their rejections use the
//! shared JSON error body, not axum's plain text).

use axum::extract::{FromRef, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chatflow_authn::TokenVerifier;
use chatflow_errors::ErrorKind;
use chatflow_runtime::ApiError;
use http::{HeaderValue, header};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::ProfileError;
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

/// A REST failure: the shared error body plus `Retry-After` when throttled.
#[derive(Debug)]
pub struct RestError {
    error: ApiError,
    retry_after_secs: Option<u64>,
}

impl From<ProfileError> for RestError {
    fn from(err: ProfileError) -> Self {
        let retry_after_secs = match &err {
            ProfileError::Throttled { retry_after } => {
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
            _ => None,
        };
        if let ProfileError::InvalidField { field, .. } = &err {
            // `hashes[3]` counts as `hashes`: label values stay bounded.
            crate::metrics::rejected(field.split('[').next().unwrap_or(field));
        }
        Self {
            error: ApiError::from_error(&err),
            retry_after_secs,
        }
    }
}

impl From<ApiError> for RestError {
    fn from(error: ApiError) -> Self {
        if error.kind == ErrorKind::InvalidArgument {
            crate::metrics::rejected("body");
        }
        Self {
            error,
            retry_after_secs: None,
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// The `{user_id}` path segment (validated by the engine).
pub struct UserPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RestError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| RestError::from(ProfileError::field("user_id", e.body_text())))?;
        Ok(Self(id))
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
        Ok(Self(query))
    }
}
