//! The gRPC face: `Check`, for callers that are not tower services.

use chatflow_proto::ratelimit::v1 as pb;
use chatflow_proto::ratelimit::v1::rate_limit_service_server::RateLimitService as RateLimitRpc;
use tonic::{Request, Response, Status};

use crate::{RateLimitError, RateLimiter};

/// Serves `chatflow.ratelimit.v1.RateLimitService` from a [`RateLimiter`].
#[derive(Clone)]
pub struct GrpcApi {
    limiter: RateLimiter,
}

impl GrpcApi {
    /// Answers checks with `limiter`.
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }
}

#[tonic::async_trait]
impl RateLimitRpc for GrpcApi {
    async fn check(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        let pb::CheckRequest { action, key, cost } = request.into_inner();
        let decision = self
            .limiter
            .check(&action, &key, cost)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::CheckResponse {
            allowed: decision.allowed,
            retry_after_ms: millis(decision.retry_after),
            remaining: decision.remaining,
            limit: decision.limit,
            reset_after_ms: millis(decision.reset_after),
        }))
    }
}

/// Failing closed is `UNAVAILABLE` with `retry-after: 1`; the rest by kind.
fn to_status(error: &RateLimitError) -> Status {
    let mut status = chatflow_runtime::grpc::to_status(error);
    if matches!(error, RateLimitError::Unavailable { .. }) {
        status
            .metadata_mut()
            .insert("retry-after", tonic::metadata::MetadataValue::from(1u64));
    }
    status
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
