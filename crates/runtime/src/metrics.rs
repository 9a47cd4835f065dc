//! The Prometheus recorder and its `GET /metrics` route.
//!
//! Services record through the `metrics` facade (`counter!`, `histogram!`,
//! names as constants in their own `metrics.rs`); [`install_prometheus`] makes
//! those calls land in a Prometheus registry, and [`metrics_route`] exposes it.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the Prometheus recorder could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A global `metrics` recorder is already installed in this process.
    #[error("a metrics recorder is already installed in this process")]
    AlreadyInstalled,
    /// The recorder could not be built.
    #[error("cannot build the prometheus recorder: {0}")]
    Build(String),
}

/// Installs the process-wide Prometheus recorder and returns its handle.
///
/// Call once per process (the composition root does, for every service it
/// runs); a second call returns [`MetricsError::AlreadyInstalled`].
pub fn install_prometheus() -> Result<PrometheusHandle, MetricsError> {
    PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| match e {
            BuildError::FailedToSetGlobalRecorder(_) => MetricsError::AlreadyInstalled,
            other => MetricsError::Build(other.to_string()),
        })
}

/// A router serving `GET /metrics` from `handle`; merge it into a service's
/// HTTP router.
///
/// Upkeep (draining histograms, expiring idle series) runs on each scrape,
/// so memory stays bounded by the scrape interval without a background task.
pub fn metrics_route(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(handle)
}

/// Renders the current snapshot in the text exposition format.
async fn render(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], handle.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn route_renders_a_local_recorder() {
        // A recorder that is not installed globally: no process-wide state.
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("chatflow_test_total").increment(3);
        });

        let response = metrics_route(handle)
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("chatflow_test_total 3"), "{text}");
    }
}
