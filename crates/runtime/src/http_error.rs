//! REST errors and strict JSON bodies.
//!
//! Every REST error has one shape, `{"error":{"code":"invalid_argument",
//! "message":"..."}}`, with the HTTP status taken from the [`ErrorKind`].
//! [`ApiJson`] is the request-body extractor: any bad body (malformed JSON,
//! wrong content type, wrong types, unknown fields, too large) becomes an
//! `InvalidArgument` [`ApiError`] with a message naming what was wrong.

use std::fmt;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chatflow_errors::{ErrorKind, HasKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// The message clients see for `Internal` errors built with
/// [`ApiError::from_error`]; the real cause is logged, never sent.
pub const INTERNAL_MESSAGE: &str = "internal error";

/// An error as a REST client sees it: a kind and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Decides the HTTP status and the `code` field.
    pub kind: ErrorKind,
    /// Shown to the client as-is.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with `message` shown to the client.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for the most common client error.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// From any crate error; `Internal` errors are logged here and replaced by
    /// [`INTERNAL_MESSAGE`], so bugs never leak details to clients.
    pub fn from_error<E: HasKind + fmt::Display + ?Sized>(err: &E) -> Self {
        let kind = err.kind();
        if kind == ErrorKind::Internal {
            tracing::error!(error = %err, "internal error");
            return Self::new(kind, INTERNAL_MESSAGE);
        }
        Self::new(kind, err.to_string())
    }

    /// The JSON body: `{"error":{"code":..,"message":..}}`.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": { "code": self.kind.as_str(), "message": self.message } })
    }
}

/// Lets handlers use `?` on any crate error (see [`ApiError::from_error`]).
impl<E: HasKind + fmt::Display> From<E> for ApiError {
    fn from(err: E) -> Self {
        Self::from_error(&err)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.kind.http_status(), Json(self.body())).into_response()
    }
}

/// A JSON request body (extractor) or response body (`IntoResponse`).
///
/// Stricter than `axum::Json`: unknown fields are rejected even when `T` does
/// not say `#[serde(deny_unknown_fields)]` (bad input changes nothing, and a
/// misspelt optional field is bad input), trailing data is rejected, and every
/// rejection is an `InvalidArgument` [`ApiError`] — 400, not axum's 415/422.
///
/// Bodies over the router's `DefaultBodyLimit` (axum's default is 2 MiB) are
/// also answered 400 `invalid_argument` ("request body is too large"), so
/// clients handle one error shape; the kind set has no "too large" of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> ApiJson<T> {
    /// Parses a JSON document with the extractor's rules; also for WebSocket
    /// text frames, so they fail exactly like REST bodies.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ApiError> {
        let mut unknown = None;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            unknown.get_or_insert_with(|| crate::ignored::dotted(&path));
        };
        let tracked = serde_ignored::Deserializer::new(&mut de, &mut on_ignored);
        let value = serde_path_to_error::deserialize(tracked).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::invalid_argument(format!("malformed JSON: {inner}"))
            } else if path == "." {
                ApiError::invalid_argument(format!("invalid request body: {inner}"))
            } else {
                ApiError::invalid_argument(format!("invalid value at `{path}`: {inner}"))
            }
        })?;
        de.end()
            .map_err(|e| ApiError::invalid_argument(format!("malformed JSON: {e}")))?;
        match unknown {
            Some(path) => Err(ApiError::invalid_argument(format!(
                "unknown field `{path}`"
            ))),
            None => Ok(Self(value)),
        }
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::invalid_argument(
                "expected a request body with `content-type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::invalid_argument("request body is too large")
            } else {
                ApiError::invalid_argument(format!(
                    "cannot read request body: {}",
                    rejection.body_text()
                ))
            }
        })?;
        Self::from_bytes(&bytes)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `application/json` or any `application/*+json`, parameters ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct SendBody {
        text: String,
        meta: Option<Meta>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Meta {
        priority: u8,
    }

    fn message(body: &str) -> String {
        ApiJson::<SendBody>::from_bytes(body.as_bytes())
            .unwrap_err()
            .message
    }

    #[test]
    fn messages_name_what_was_wrong() {
        assert!(
            message(r#"{"text": "#).starts_with("malformed JSON: EOF"),
            "{}",
            message(r#"{"text": "#)
        );
        assert!(message(r#"{"text":"a"} x"#).starts_with("malformed JSON: trailing characters"));
        assert!(
            message(r#"{"text":1}"#)
                .starts_with("invalid value at `text`: invalid type: integer `1`")
        );
        assert!(message(r#"{}"#).starts_with("invalid request body: missing field `text`"));
        assert_eq!(
            message(r#"{"text":"a","meta":{"priority":1,"urgent":true}}"#),
            "unknown field `meta.urgent`"
        );
        let ApiJson(ok) =
            ApiJson::<SendBody>::from_bytes(br#"{"text":"a","meta":{"priority":1}}"#).unwrap();
        assert_eq!(
            (ok.text.as_str(), ok.meta.map(|m| m.priority)),
            ("a", Some(1))
        );
    }

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_json(&headers), ok, "{value}");
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        struct Bug;
        impl HasKind for Bug {
            fn kind(&self) -> ErrorKind {
                ErrorKind::Internal
            }
        }
        impl fmt::Display for Bug {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("db password is hunter2")
            }
        }
        let err = ApiError::from(Bug);
        assert_eq!(err.message, INTERNAL_MESSAGE);
        let body = err.body().to_string();
        assert_eq!(
            body,
            r#"{"error":{"code":"internal","message":"internal error"}}"#
        );
    }
}
