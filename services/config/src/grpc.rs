//! The gRPC face: `Evaluate` and the server-streaming `Watch`.

use std::pin::Pin;

use chatflow_config_client::{WatchEvent, flag_to_proto};
use chatflow_errors::HasKind;
use chatflow_flags::EvaluationContext;
use chatflow_proto::config::v1 as pb;
use chatflow_proto::config::v1::config_service_server::ConfigService as ConfigRpc;
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::service::Engine;

/// Most targeting attributes one evaluation may carry.
const MAX_ATTRIBUTES: usize = 64;
/// Longest attribute name or value, in bytes.
const MAX_ATTRIBUTE_BYTES: usize = 256;

/// Serves the config service's gRPC API from the in-process engine.
pub struct GrpcApi {
    engine: Engine,
}

impl GrpcApi {
    /// Wraps the engine.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

type WatchFrames = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ConfigRpc for GrpcApi {
    async fn evaluate(
        &self,
        request: Request<pb::EvaluateRequest>,
    ) -> Result<Response<pb::EvaluateResponse>, Status> {
        let request = request.into_inner();
        let context = context_from_proto(request.context.unwrap_or_default())?;
        let outcome = self.engine.evaluate(&request.flag_key, &context).await;
        let label = if outcome.is_ok() { "ok" } else { "error" };
        metrics::counter!(crate::metrics::EVALUATIONS, "outcome" => label).increment(1);
        let (evaluation, version) = outcome.map_err(|e| chatflow_runtime::grpc::to_status(&e))?;
        Ok(Response::new(pb::EvaluateResponse {
            variant: evaluation.variant,
            value_json: evaluation.value.to_string(),
            reason: serde_json::to_string(&evaluation.reason).unwrap_or_default(),
            version,
        }))
    }

    type WatchStream = WatchFrames;

    async fn watch(
        &self,
        _request: Request<pb::WatchRequest>,
    ) -> Result<Response<WatchFrames>, Status> {
        let events = self
            .engine
            .watch()
            .await
            .map_err(|e| Status::new(e.kind().grpc_code(), e.to_string()))?;
        let watchers = metrics::gauge!(crate::metrics::WATCHERS);
        watchers.increment(1.0);
        let guard = WatcherGuard(watchers);
        let frames = events.map(move |event| {
            let _alive = &guard;
            let frame = match event.map_err(|e| Status::new(e.kind().grpc_code(), e.to_string()))? {
                WatchEvent::Snapshot(flags) => pb::watch_response::Frame::Snapshot(pb::Snapshot {
                    flags: flags.iter().map(flag_to_proto).collect(),
                }),
                WatchEvent::Change(flag) => pb::watch_response::Frame::Change(flag_to_proto(&flag)),
            };
            Ok(pb::WatchResponse { frame: Some(frame) })
        });
        Ok(Response::new(Box::pin(frames)))
    }
}

/// Decrements the watcher gauge when a stream is dropped.
struct WatcherGuard(metrics::Gauge);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Validates and converts the wire context; an empty user id means anonymous.
fn context_from_proto(context: pb::EvaluationContext) -> Result<EvaluationContext, Status> {
    if context.attributes.len() > MAX_ATTRIBUTES {
        return Err(Status::invalid_argument(format!(
            "context has {} attributes, at most {MAX_ATTRIBUTES} allowed",
            context.attributes.len()
        )));
    }
    if let Some((name, _)) = context
        .attributes
        .iter()
        .find(|(k, v)| k.len() > MAX_ATTRIBUTE_BYTES || v.len() > MAX_ATTRIBUTE_BYTES)
    {
        return Err(Status::invalid_argument(format!(
            "attribute {name:.64} exceeds {MAX_ATTRIBUTE_BYTES} bytes"
        )));
    }
    Ok(EvaluationContext {
        user_id: Some(context.user_id).filter(|id| !id.is_empty()),
        attributes: context.attributes.into_iter().collect(),
    })
}
