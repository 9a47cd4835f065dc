//! Liveness and readiness: `GET /healthz` and `GET /readyz`.
//!
//! `/healthz` answers 200 for as long as the process can serve HTTP at all:
//! orchestrators restart a process that stops answering it. `/readyz` answers
//! 200 only when the service has said it is ready ([`Health::set_ready`]),
//! is not draining, and every registered [`ReadinessCheck`] passes; load
//! balancers stop routing to a process that answers 503.
//!
//! Readiness changes are published on a `watch` channel
//! ([`Health::subscribe`]), so tests and supervisors await them instead of
//! sleeping.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::FutureExt as _;
use serde_json::json;
use tokio::sync::watch;

/// How long one readiness check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A dependency probe run on every `/readyz` request (a database ping, a
/// broker metadata call). Keep it cheap: it runs once per probe.
#[async_trait::async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    /// `Ok` when the dependency is usable; otherwise why not.
    async fn check(&self) -> Result<(), String>;
}

/// Any `Fn() -> impl Future<Output = Result<(), String>>` is a check.
#[async_trait::async_trait]
impl<F, Fut> ReadinessCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    async fn check(&self) -> Result<(), String> {
        self().await
    }
}

/// The service-declared part of readiness (checks are evaluated on demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Starting up (or told not ready): not serving traffic yet.
    NotReady,
    /// Said ready and not draining; `/readyz` still runs the checks.
    Ready,
    /// Shutting down. Final: `set_ready(true)` no longer changes it.
    Draining,
}

impl Readiness {
    /// Whether the service itself says it can take traffic.
    pub fn is_ready(self) -> bool {
        self == Self::Ready
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::NotReady => "not_ready",
            Self::Ready => "ready",
            Self::Draining => "draining",
        }
    }
}

/// Shared liveness and readiness state of one service (or one process).
///
/// Cheap to clone; every clone sees the same state.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    state: watch::Sender<Readiness>,
    checks: Mutex<Vec<(&'static str, Arc<dyn ReadinessCheck>)>>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("state", &*self.inner.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Health {
    /// A new, not-yet-ready health state with no checks.
    pub fn new() -> Self {
        let (state, _) = watch::channel(Readiness::NotReady);
        let checks = Mutex::new(Vec::new());
        Self {
            inner: Arc::new(Inner { state, checks }),
        }
    }

    /// Registers a check run on every `/readyz`; a second check with the same
    /// name replaces the first.
    pub fn add_check(&self, name: &'static str, check: impl ReadinessCheck) {
        let mut checks = self
            .inner
            .checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        checks.retain(|(existing, _)| *existing != name);
        checks.push((name, Arc::new(check)));
    }

    /// Declares the service ready (or not); ignored once draining.
    pub fn set_ready(&self, ready: bool) {
        let next = if ready {
            Readiness::Ready
        } else {
            Readiness::NotReady
        };
        self.inner.state.send_if_modified(|state| {
            let changed = *state != Readiness::Draining && *state != next;
            if changed {
                *state = next;
            }
            changed
        });
    }

    /// Marks the service as shutting down: `/readyz` answers 503 from now on.
    pub fn set_draining(&self) {
        self.inner.state.send_if_modified(|state| {
            let changed = *state != Readiness::Draining;
            *state = Readiness::Draining;
            changed
        });
    }

    /// Whether the service said it is ready and is not draining (checks are
    /// not run; `/readyz` runs them).
    pub fn is_ready(&self) -> bool {
        self.readiness().is_ready()
    }

    /// The current service-declared readiness.
    pub fn readiness(&self) -> Readiness {
        *self.inner.state.borrow()
    }

    /// Watches readiness changes: `health.subscribe().wait_for(|r| r.is_ready())`.
    pub fn subscribe(&self) -> watch::Receiver<Readiness> {
        self.inner.state.subscribe()
    }

    /// Runs every check concurrently, each bounded by [`CHECK_TIMEOUT`], and
    /// returns the failing ones with their reasons (empty when all pass).
    pub async fn failing_checks(&self) -> BTreeMap<&'static str, String> {
        self.failing_checks_within(CHECK_TIMEOUT).await
    }

    async fn failing_checks_within(&self, timeout: Duration) -> BTreeMap<&'static str, String> {
        let checks = self
            .inner
            .checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let runs = checks.into_iter().map(|(name, check)| async move {
            // A panicking check fails readiness instead of killing the probe.
            let run = AssertUnwindSafe(async move { check.check().await }).catch_unwind();
            let outcome = match tokio::time::timeout(timeout, run).await {
                Ok(Ok(result)) => result,
                Ok(Err(_panic)) => Err("check panicked".to_owned()),
                Err(_) => Err(format!("timed out after {timeout:?}")),
            };
            outcome.err().map(|reason| (name, reason))
        });
        futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// `GET /healthz` and `GET /readyz`; merge it into a service's HTTP router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .with_state(self.clone())
    }
}

/// Alive: if this answers, the process is.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready: declared ready, not draining, and every check passes.
async fn readyz(State(health): State<Health>) -> Response {
    let readiness = health.readiness();
    if !readiness.is_ready() {
        // Not ready or draining: no point probing dependencies.
        let body = json!({ "status": readiness.as_str(), "failing": {} });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let failing = health.failing_checks().await;
    if failing.is_empty() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        let body = json!({ "status": "failing_checks", "failing": failing });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_is_final_and_published() {
        let health = Health::new();
        let mut rx = health.subscribe();
        assert!(!health.is_ready());
        health.set_ready(true);
        rx.wait_for(|r| r.is_ready()).await.unwrap();
        health.set_draining();
        health.set_ready(true);
        assert_eq!(*rx.borrow_and_update(), Readiness::Draining);
        assert!(!health.is_ready());
    }

    #[tokio::test]
    async fn failing_checks_report_errors_timeouts_and_panics() {
        struct Slow;
        #[async_trait::async_trait]
        impl ReadinessCheck for Slow {
            async fn check(&self) -> Result<(), String> {
                std::future::pending().await
            }
        }
        fn buggy() -> Result<(), String> {
            panic!("bug")
        }
        let health = Health::new();
        health.add_check("ok", || async { Ok(()) });
        health.add_check("db", || async { Err("connection refused".to_owned()) });
        health.add_check("slow", Slow);
        health.add_check("buggy", || async { buggy() });
        let failing = health
            .failing_checks_within(Duration::from_millis(50))
            .await;
        assert_eq!(failing.len(), 3, "{failing:?}");
        assert_eq!(failing["db"], "connection refused");
        assert_eq!(failing["slow"], "timed out after 50ms");
        assert_eq!(failing["buggy"], "check panicked");
    }
}
