//! Structured logs and OpenTelemetry traces for one process.
//!
//! [`init`] installs the process-wide `tracing` subscriber: a filter
//! (`RUST_LOG` wins over [`TelemetryConfig::log_filter`]), a human or JSON log
//! formatter, and a `tracing-opentelemetry` layer. The layer always has an SDK
//! tracer provider behind it, so every span carries a real trace id that can be
//! injected into Kafka and gRPC headers with `TraceContextPropagator`; spans
//! are exported over OTLP/gRPC only when [`TelemetryConfig::otlp_endpoint`] is
//! set. Neither the global tracer provider nor the global propagator is set:
//! callers use the span's context directly.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, Registry};

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event, coloured when stdout is a terminal.
    #[default]
    Pretty,
    /// One JSON object per line with the current span's fields, for production.
    Json,
}

/// Logging and tracing settings, usually a section of a service's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetryConfig {
    /// `service.name` on exported spans.
    pub service_name: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// An `EnvFilter` directive such as `info,chatflow_gateway=debug`;
    /// ignored when `RUST_LOG` is set.
    pub log_filter: String,
    /// OTLP/gRPC collector, e.g. `http://localhost:4317`; no export when unset.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            service_name: "chatflow".to_owned(),
            log_format: LogFormat::Pretty,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
        }
    }
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A subscriber (or `log` logger) is already installed in this process.
    #[error("telemetry is already initialized in this process")]
    AlreadyInitialized,
    /// The log filter (from `RUST_LOG` or the config) does not parse.
    #[error("invalid log filter from {origin}: {reason}")]
    Filter {
        /// `RUST_LOG` or `log_filter`.
        origin: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// The OTLP exporter needs a Tokio runtime to build its gRPC channel.
    #[error("an OTLP endpoint needs telemetry::init to be called inside a tokio runtime")]
    NoRuntime,
    /// The OTLP exporter could not be built (bad endpoint, say).
    #[error("cannot build the OTLP span exporter: {0}")]
    Exporter(String),
}

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes it.
///
/// Dropping the guard also shuts the provider down, but without reporting errors.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl TelemetryGuard {
    /// Exports the spans still buffered and stops the exporter.
    ///
    /// Blocks until the exporter answers (bounded by the SDK's timeout): from
    /// async code call it through `spawn_blocking`, as `shutdown::graceful` does.
    pub fn shutdown(self) -> Result<(), TelemetryError> {
        self.provider
            .shutdown()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))
    }
}

/// Installs logging and tracing for this process; call once, early in `main`.
///
/// A second call returns [`TelemetryError::AlreadyInitialized`].
pub fn init(cfg: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = build_filter(std::env::var("RUST_LOG").ok(), &cfg.log_filter)?;
    let provider = tracer_provider(cfg)?;
    let tracer = provider.tracer(cfg.service_name.clone());

    let ansi = std::io::stdout().is_terminal();
    let fmt = match cfg.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_ansi(ansi).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let installed = Registry::default()
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .with(filter)
        .try_init();

    if installed.is_err() {
        // Nothing was exported yet; stop the exporter thread we just started.
        let _ = provider.shutdown();
        return Err(TelemetryError::AlreadyInitialized);
    }
    Ok(TelemetryGuard { provider })
}

/// `RUST_LOG` when set and non-empty, else the configured directive.
fn build_filter(rust_log: Option<String>, configured: &str) -> Result<EnvFilter, TelemetryError> {
    let (origin, directives) = match rust_log {
        Some(env) if !env.trim().is_empty() => ("RUST_LOG", env),
        _ => ("log_filter", configured.to_owned()),
    };
    EnvFilter::try_new(&directives).map_err(|e| TelemetryError::Filter {
        origin,
        reason: e.to_string(),
    })
}

/// An SDK provider that always mints trace ids; it exports over OTLP/gRPC
/// (batched, on its own thread, through a tonic channel on the current Tokio
/// runtime) only when an endpoint is configured.
fn tracer_provider(cfg: &TelemetryConfig) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder()
        .with_service_name(cfg.service_name.clone())
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = &cfg.otlp_endpoint else {
        return Ok(builder.build());
    };
    // tonic spawns its channel's worker task; without a runtime it would panic.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    Ok(builder.with_batch_exporter(exporter).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_over_config() {
        let filter = build_filter(Some("warn".into()), "debug").unwrap();
        assert_eq!(filter.to_string(), "warn");
        let filter = build_filter(Some("  ".into()), "debug").unwrap();
        assert_eq!(filter.to_string(), "debug");
        let filter = build_filter(None, "info,chatflow=trace").unwrap();
        assert_eq!(filter.to_string(), "chatflow=trace,info");
    }

    #[test]
    fn bad_filters_name_their_origin() {
        let err = build_filter(Some("=bogus=".into()), "info").unwrap_err();
        assert!(err.to_string().contains("RUST_LOG"), "{err}");
    }

    #[test]
    fn otlp_without_runtime_is_an_error_not_a_panic() {
        let cfg = TelemetryConfig {
            otlp_endpoint: Some("http://127.0.0.1:4317".into()),
            ..TelemetryConfig::default()
        };
        assert!(matches!(
            tracer_provider(&cfg),
            Err(TelemetryError::NoRuntime)
        ));
    }

    /// The exporter's batch thread drives a tonic channel on the runtime; the
    /// flush must neither panic nor deadlock, even on a current-thread runtime
    /// and with no collector listening.
    #[tokio::test]
    async fn otlp_export_to_a_dead_collector_shuts_down_cleanly() {
        let cfg = TelemetryConfig {
            otlp_endpoint: Some("http://127.0.0.1:1".into()),
            ..TelemetryConfig::default()
        };
        let provider = tracer_provider(&cfg).unwrap();
        {
            use opentelemetry::trace::{Span as _, Tracer as _};
            provider.tracer("test").start("doomed").end();
        }
        let guard = TelemetryGuard { provider };
        let flushed = tokio::task::spawn_blocking(move || guard.shutdown());
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(30), flushed).await;
        assert!(outcome.is_ok(), "telemetry shutdown hung");
    }

    #[test]
    fn config_deserializes_with_defaults() {
        let cfg: TelemetryConfig = serde_json::from_str(r#"{"log_format":"json"}"#).unwrap();
        assert_eq!(cfg.log_format, LogFormat::Json);
        assert_eq!(cfg.log_filter, "info");
    }
}
