//! W3C trace context across HTTP and gRPC calls.
//!
//! Servers started by [`crate::serve`] open one span per request whose parent
//! is the caller's `traceparent`, so a trace continues across services;
//! gRPC clients add [`TraceInterceptor`] to send theirs. Like the event bus,
//! this calls [`TraceContextPropagator`] directly rather than a global one.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span of one incoming request, child of the caller's trace if it sent one.
pub fn request_span<B>(request: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    );
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    // Fails only without an OpenTelemetry layer, when there is nothing to link.
    let _ = span.set_parent(parent);
    span
}

/// Writes the current span's trace context into outgoing HTTP/gRPC headers.
pub fn inject_headers(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

/// A tonic client interceptor sending the current trace context.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceInterceptor;

impl tonic::service::Interceptor for TraceInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        inject_headers(&mut headers);
        *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
        Ok(request)
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn a_request_span_continues_the_callers_trace() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let caller = tracing::info_span!("caller");
            let mut headers = http::HeaderMap::new();
            caller.in_scope(|| inject_headers(&mut headers));
            let traceparent = headers.get("traceparent").expect("no traceparent injected");
            let mut request = http::Request::new(());
            request
                .headers_mut()
                .insert("traceparent", traceparent.clone());
            let span = request_span(&request);
            let (callee, origin) = (span.context(), caller.context());
            assert_eq!(
                callee.span().span_context().trace_id(),
                origin.span().span_context().trace_id()
            );
        });
    }

    #[test]
    fn the_interceptor_adds_a_traceparent_inside_a_traced_span() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("client").in_scope(|| {
                let request = tonic::service::Interceptor::call(
                    &mut TraceInterceptor,
                    tonic::Request::new(()),
                )
                .expect("interceptor never fails");
                assert!(request.metadata().get("traceparent").is_some());
            });
        });
    }
}
