//! W3C trace context in record headers, so a consumer's span continues the
//! producer's trace across the bus.
//!
//! We call [`TraceContextPropagator`] directly instead of opentelemetry's
//! global propagator: the headers are part of the event contract and must not
//! depend on what some binary happened to install globally.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Header names this module writes (W3C Trace Context).
const TRACE_HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// Writes `traceparent`/`tracestate` for the current tracing span's
/// OpenTelemetry context, replacing any previous values. Writes nothing when
/// there is no sampled-or-not valid span context (no OpenTelemetry layer).
pub fn inject_trace_context(headers: &mut Vec<(String, Vec<u8>)>) {
    let cx = tracing::Span::current().context();
    headers.retain(|(name, _)| !TRACE_HEADERS.contains(&name.as_str()));
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

/// Reads the W3C trace context from record headers; an empty context if
/// absent or malformed (the consumer then starts a new trace).
pub fn extract_trace_context(headers: &[(String, Vec<u8>)]) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

struct HeaderInjector<'a>(&'a mut Vec<(String, Vec<u8>)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value.into_bytes()));
    }
}

struct HeaderExtractor<'a>(&'a [(String, Vec<u8>)]);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // Header names are case-insensitive in W3C; values must be UTF-8 text.
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    fn with_otel<R>(f: impl FnOnce() -> R) -> R {
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn inject_then_extract_keeps_the_trace_id() {
        with_otel(|| {
            let span = tracing::info_span!("producer");
            let _entered = span.enter();
            let mut headers = vec![("traceparent".to_owned(), b"stale".to_vec())];
            inject_trace_context(&mut headers);
            let parents: Vec<_> = headers.iter().filter(|(n, _)| n == "traceparent").collect();
            assert_eq!(parents.len(), 1, "old value replaced: {headers:?}");
            let extracted = extract_trace_context(&headers);
            let expected = span.context().span().span_context().trace_id();
            assert_eq!(extracted.span().span_context().trace_id(), expected);
            assert!(extracted.span().span_context().is_remote());
        });
    }

    #[test]
    fn without_a_span_nothing_is_written_and_extract_is_empty() {
        let mut headers = Vec::new();
        inject_trace_context(&mut headers);
        assert!(headers.is_empty());
        let garbage = vec![("traceparent".to_owned(), vec![0xff, 0xfe])];
        assert!(
            !extract_trace_context(&garbage)
                .span()
                .span_context()
                .is_valid()
        );
    }
}
