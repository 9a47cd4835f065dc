//! The two process-wide installs: the tracing subscriber and the metrics
//! recorder. Each is exercised by exactly one test in this binary, since a
//! process can hold only one of each.

use std::collections::HashMap;

use chatflow_runtime::metrics::{MetricsError, install_prometheus, metrics_route};
use chatflow_runtime::telemetry::{self, TelemetryConfig, TelemetryError};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::spawn_http;

#[tokio::test]
async fn telemetry_installs_once_and_spans_carry_trace_context() {
    let guard = telemetry::init(&TelemetryConfig {
        service_name: "it".into(),
        ..Default::default()
    })
    .unwrap();
    let again = telemetry::init(&TelemetryConfig::default());
    assert!(
        matches!(again, Err(TelemetryError::AlreadyInitialized)),
        "{again:?}"
    );

    // Error level, so a RUST_LOG in the environment cannot filter the span out.
    let span = tracing::error_span!("send_message");
    let context = span.context();
    assert!(
        context.span().span_context().is_valid(),
        "no exporter, yet a real trace id"
    );

    let mut headers = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut headers);
    let trace_id = context.span().span_context().trace_id().to_string();
    assert!(headers["traceparent"].contains(&trace_id), "{headers:?}");

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn prometheus_installs_once_and_serves_metrics() {
    let handle = install_prometheus().unwrap();
    assert!(matches!(
        install_prometheus(),
        Err(MetricsError::AlreadyInstalled)
    ));

    metrics::counter!("chatflow_it_requests_total", "route" => "/v1/messages").increment(2);
    let server = spawn_http(metrics_route(handle)).await;
    let response = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"chatflow_it_requests_total{route="/v1/messages"} 2"#),
        "{text}"
    );
}
