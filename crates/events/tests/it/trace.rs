//! Trace context crosses the bus: the handler span continues the producer's trace.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chatflow_events::{
    BusOptions, Delivery, Handler, HandlerError, RetryPolicy, connect, inject_trace_context,
    run_consumer,
};
use opentelemetry::trace::{TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::record;

/// Reports the trace id of the span the handler runs in.
struct TraceProbe(Mutex<Option<mpsc::UnboundedSender<TraceId>>>);

#[async_trait]
impl Handler for TraceProbe {
    async fn handle(&self, _delivery: &Delivery) -> Result<(), HandlerError> {
        let cx = tracing::Span::current().context();
        if let Some(tx) = self.0.lock().unwrap().as_ref() {
            let _ = tx.send(cx.span().span_context().trace_id());
        }
        Ok(())
    }
}

// Single-threaded runtime: the thread-local subscriber below covers every task.
#[tokio::test]
async fn handler_span_is_a_child_of_the_published_trace() {
    let provider = SdkTracerProvider::builder().build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let bus = connect("memory://", BusOptions::default()).await.unwrap();
    bus.ensure_topic("traced", 1).await.unwrap();
    let producer_span = tracing::info_span!("send message");
    let mut sent = record("traced", "k", "v");
    producer_span.in_scope(|| inject_trace_context(&mut sent.headers));
    let expected = producer_span.context().span().span_context().trace_id();
    assert_ne!(expected, TraceId::INVALID);
    bus.publish(sent).await.unwrap();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let sub = bus.subscribe("g", &["traced".into()]).await.unwrap();
    let shutdown = CancellationToken::new();
    let probe = TraceProbe(Mutex::new(Some(tx)));
    let runner = tokio::spawn(run_consumer(
        sub,
        bus.clone(),
        probe,
        RetryPolicy::default(),
        shutdown.clone(),
    ));
    let seen = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, expected);
    shutdown.cancel();
    runner.await.unwrap().unwrap();
}
