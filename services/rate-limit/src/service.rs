//! The service itself: build it from its deps, run it on the caller's listeners.

use chatflow_cache::CacheRef;
use chatflow_flags::FlagCache;
use chatflow_proto::ratelimit::v1::rate_limit_service_server::RateLimitServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::grpc::GrpcApi;
use crate::{Config, Policies, RateLimitError, RateLimiter, default_policies};

/// What the service needs from the platform.
pub struct Deps {
    /// Where limiter state lives: Redis shared by every node, or in-process.
    pub cache: CacheRef,
    /// Live flags for `ratelimit.policies`; `None` runs on file policies only.
    pub flags: Option<FlagCache>,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// For gRPC `Check`.
    pub grpc: TcpListener,
}

/// A built rate-limit service, ready to run.
pub struct RateLimitService {
    limiter: RateLimiter,
}

impl RateLimitService {
    /// Validates the policies (built-in defaults overlaid by `config.policies`)
    /// and prepares the limiter; an invalid policy is an error naming it.
    pub fn build(config: Config, deps: Deps) -> Result<Self, RateLimitError> {
        crate::metrics::describe();
        let mut specs = default_policies();
        specs.extend(config.policies);
        let policies = Policies::from_specs(&specs)?;
        Ok(Self {
            limiter: RateLimiter::new(deps.cache, policies, deps.flags),
        })
    }

    /// The limiter, for layers and checks of other services in this process.
    pub fn limiter(&self) -> RateLimiter {
        self.limiter.clone()
    }

    /// The gRPC routes `run` serves, for embedding in another server.
    pub fn routes(&self) -> tonic::service::Routes {
        tonic::service::Routes::new(RateLimitServiceServer::new(GrpcApi::new(
            self.limiter.clone(),
        )))
    }

    /// Serves gRPC `Check` until `shutdown`, then finishes in-flight calls.
    pub async fn run(self, listeners: Listeners, shutdown: CancellationToken) {
        let routes = self.routes();
        if let Err(err) =
            chatflow_runtime::serve::serve_grpc(listeners.grpc, routes, shutdown).await
        {
            tracing::error!(error = %err, "rate-limit gRPC server failed");
        }
    }
}
