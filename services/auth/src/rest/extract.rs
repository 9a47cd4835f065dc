//! Extractors (the bearer caller, client metadata) and the REST error with
//! `Retry-After` and `WWW-Authenticate`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chatflow_errors::ErrorKind;
use chatflow_runtime::ApiError;
use http::{HeaderValue, header};

use crate::AuthError;
use crate::engine::{Client, Engine, Principal};

/// A REST failure: the shared error body plus the headers auth needs.
#[derive(Debug)]
pub struct RestError {
    error: ApiError,
    retry_after_secs: Option<u64>,
}

impl From<AuthError> for RestError {
    fn from(err: AuthError) -> Self {
        let retry_after_secs = match &err {
            AuthError::Throttled { retry_after } => {
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
            _ => None,
        };
        Self {
            error: ApiError::from_error(&err),
            retry_after_secs,
        }
    }
}

impl From<ApiError> for RestError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            retry_after_secs: None,
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let unauthenticated = self.error.kind == ErrorKind::Unauthenticated;
        let mut response = self.error.into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if unauthenticated {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The `Authorization: Bearer` value, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The authenticated caller: a valid access token of a live session.
pub struct Caller(pub Principal);

impl FromRequestParts<Engine> for Caller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, engine: &Engine) -> Result<Self, RestError> {
        let token = bearer(parts).ok_or_else(|| {
            AuthError::Unauthenticated(
                "missing bearer token (Authorization: Bearer <access token>)".into(),
            )
        })?;
        Ok(Self(engine.authenticate(token).await?))
    }
}

/// Where a request comes from: IP (peer, or `X-Forwarded-For` when trusted) and user agent.
pub struct ClientMeta(pub Client);

impl FromRequestParts<Engine> for ClientMeta {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, engine: &Engine) -> Result<Self, RestError> {
        let forwarded = engine
            .config
            .trust_forwarded_for
            .then(|| parts.headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|ip| ip.trim().to_owned())
            .filter(|ip| !ip.is_empty());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(256)
            .collect();
        Ok(Self(Client {
            ip: forwarded.or(peer).unwrap_or_else(|| "unknown".to_owned()),
            user_agent,
            ..Client::default()
        }))
    }
}
