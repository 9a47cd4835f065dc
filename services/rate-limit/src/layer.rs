//! [`RateLimitLayer`]: throttling for any axum router or tonic service in one line.
//!
//! ```no_run
//! # use chatflow_rate_limit::{RateLimiter, RateLimitLayer, key};
//! # fn wire(limiter: RateLimiter, router: axum::Router) -> axum::Router {
//! router.layer(RateLimitLayer::new(limiter, "auth.login.ip", key::by_ip()))
//! # }
//! ```
//!
//! For a tonic service, wrap it before adding it to its routes:
//! `Routes::new(RateLimitLayer::new(limiter, "messages.send.user", key::by_header("x-user-id")).layer(server))`.
//!
//! Each request costs 1. Admitted requests reach the inner service and their
//! responses carry `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (IETF draft headers, seconds rounded up). Refused ones
//! never reach it: HTTP gets `429` with `Retry-After` and the JSON error body
//! (`resource_exhausted`); gRPC (`content-type: application/grpc…`) gets
//! `RESOURCE_EXHAUSTED` with the same values as metadata. When the key
//! function returns `None` the request is not limited by this layer. When
//! the cache is down and the policy fails closed the answer is `503` /
//! `UNAVAILABLE` with `Retry-After: 1`.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_runtime::ApiError;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use tower::{Layer, Service};

use crate::{Decision, RateLimitError, RateLimiter};

/// `RateLimit-Limit`: the most requests admitted at once.
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: requests admitted right now before refusals start.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`: seconds until the full burst is available again.
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Wraps services in [`RateLimit`], checking `action` for the subject `key_fn` names.
pub struct RateLimitLayer<K> {
    limiter: RateLimiter,
    action: Arc<str>,
    key_fn: Arc<K>,
}

impl<K> RateLimitLayer<K> {
    /// Limits by `action`'s policy per subject: `key_fn` reads the subject
    /// from the request (see [`crate::key`]); `None` skips limiting.
    pub fn new(limiter: RateLimiter, action: &str, key_fn: K) -> Self {
        if limiter.policy(action).is_none() {
            tracing::error!(action, "rate-limit layer for an action without a policy");
        }
        Self {
            limiter,
            action: action.into(),
            key_fn: Arc::new(key_fn),
        }
    }

    /// Wraps one service, as [`Layer::layer`] does, without importing the
    /// trait: how a tonic server is limited before it is added to its routes.
    pub fn layer<S>(&self, inner: S) -> RateLimit<S, K> {
        RateLimit {
            inner,
            layer: self.clone(),
        }
    }
}

impl<K> Clone for RateLimitLayer<K> {
    fn clone(&self) -> Self {
        Self {
            limiter: self.limiter.clone(),
            action: self.action.clone(),
            key_fn: self.key_fn.clone(),
        }
    }
}

impl<S, K> Layer<S> for RateLimitLayer<K> {
    type Service = RateLimit<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitLayer::layer(self, inner)
    }
}

/// A service behind a rate limit; built by [`RateLimitLayer`].
pub struct RateLimit<S, K> {
    inner: S,
    layer: RateLimitLayer<K>,
}

impl<S: Clone, K> Clone for RateLimit<S, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

/// tonic routes a wrapped service by the inner service's name.
impl<S: tonic::server::NamedService, K> tonic::server::NamedService for RateLimit<S, K> {
    const NAME: &'static str = S::NAME;
}

impl<S, K, B, ResBody> Service<Request<B>> for RateLimit<S, K>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    K: Fn(&Request<B>) -> Option<String> + Send + Sync + 'static,
    B: Send + 'static,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let key = (self.layer.key_fn)(&request);
        let grpc = is_grpc(request.headers());
        // The clone that was not polled ready stays; the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (limiter, action) = (self.layer.limiter.clone(), self.layer.action.clone());
        Box::pin(async move {
            let Some(key) = key else {
                return Ok(inner.call(request).await?.map(Body::new));
            };
            match limiter.check(&action, &key, 1).await {
                Ok(decision) if decision.allowed => {
                    let mut response = inner.call(request).await?.map(Body::new);
                    if !decision.degraded {
                        set_limit_headers(response.headers_mut(), &decision);
                    }
                    Ok(response)
                }
                Ok(decision) => Ok(refused(&action, &decision, grpc)),
                Err(error) => Ok(failed(&error, grpc)),
            }
        })
    }
}

/// gRPC requests say so in their content type (`application/grpc`, `+proto`, ...).
fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Whole seconds, rounded up: a client waiting this long is never early.
fn ceil_secs(duration: Duration) -> u64 {
    duration
        .as_millis()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
}

fn set_limit_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(
        RATELIMIT_RESET,
        HeaderValue::from(ceil_secs(decision.reset_after)),
    );
}

/// 429 with JSON, or `RESOURCE_EXHAUSTED`; both with `Retry-After` (at least 1 s).
fn refused(action: &str, decision: &Decision, grpc: bool) -> Response<Body> {
    let wait = ceil_secs(decision.retry_after).max(1);
    let error = ApiError::new(
        ErrorKind::ResourceExhausted,
        format!("rate limit exceeded for {action}; retry in {wait} s"),
    );
    let mut response = error_response(error, grpc);
    set_limit_headers(response.headers_mut(), decision);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// A check that could not be made: 503/`UNAVAILABLE` when failing closed,
/// 400/`INVALID_ARGUMENT` for a bad key, 500 for a layer without a policy.
fn failed(error: &RateLimitError, grpc: bool) -> Response<Body> {
    let api_error = match error {
        RateLimitError::UnknownAction(_) | RateLimitError::InvalidPolicy(_) => {
            tracing::error!(%error, "rate-limit layer misconfigured");
            ApiError::new(
                ErrorKind::Internal,
                chatflow_runtime::http_error::INTERNAL_MESSAGE,
            )
        }
        _ => ApiError::from_error(error),
    };
    let unavailable = error.kind() == ErrorKind::Unavailable;
    let mut response = error_response(api_error, grpc);
    if unavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
    }
    response
}

fn error_response(error: ApiError, grpc: bool) -> Response<Body> {
    if grpc {
        return tonic::Status::from(error).into_http();
    }
    let body = Body::from(error.body().to_string());
    let mut response = Response::new(body);
    *response.status_mut() = error.kind.http_status();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
