//! The service itself: build it from its deps, run it on the caller's listeners.

use chatflow_authn::{ServiceIdentity, TokenVerifier};
use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    Config, PROFILE_TOPIC_PARTITIONS, PROFILE_TOPICS, PresenceError, PresenceNode, VisibilityRef,
    grpc, rest,
};

/// What the service needs from the platform.
pub struct Deps {
    /// The cache its replica converges through (shared with the gateways).
    pub cache: CacheRef,
    /// The bus the profile service's privacy and block events come from.
    pub bus: EventBusRef,
    /// Who may see whom (the profile service, local or remote).
    pub visibility: VisibilityRef,
    /// Checks the access token of every REST request.
    pub verifier: TokenVerifier,
    /// Checks the service identity of every gRPC call.
    pub identity: ServiceIdentity,
    /// Ends the replica. The process's shutdown token, so a gateway sharing
    /// the replica keeps it while it drains.
    pub replica_shutdown: CancellationToken,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// REST API.
    pub http: TcpListener,
    /// gRPC API (internal).
    pub grpc: TcpListener,
}

/// A built presence service, ready to run.
pub struct PresenceService {
    node: PresenceNode,
    verifier: TokenVerifier,
    identity: ServiceIdentity,
}

impl PresenceService {
    /// Checks the settings, creates the profile topics it follows when
    /// missing, starts its replica and follows the profile events.
    pub async fn build(config: Config, deps: Deps) -> Result<Self, PresenceError> {
        config.presence.check()?;
        for topic in PROFILE_TOPICS {
            deps.bus
                .ensure_topic(topic, PROFILE_TOPIC_PARTITIONS)
                .await
                .map_err(|e| PresenceError::Unavailable(format!("event bus: {e}")))?;
        }
        let node = PresenceNode::start(
            deps.cache,
            deps.visibility,
            config.presence,
            deps.replica_shutdown,
        )
        .await?;
        node.follow_profile_events(deps.bus).await?;
        Ok(Self {
            node,
            verifier: deps.verifier,
            identity: deps.identity,
        })
    }

    /// The replica, for a gateway in the same process.
    pub fn node(&self) -> PresenceNode {
        self.node.clone()
    }

    /// Serves REST and gRPC until `shutdown`, then finishes in-flight
    /// requests and returns (the replica runs on until its own token).
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), PresenceError> {
        let routes = grpc::routes(self.node.clone(), &self.identity);
        let router = rest::router(self.node, self.verifier);
        let http = chatflow_runtime::serve::serve_http(listeners.http, router, shutdown.clone());
        let grpc = chatflow_runtime::serve::serve_grpc(listeners.grpc, routes, shutdown);
        let (http_result, grpc_result) = tokio::join!(http, grpc);
        if let Err(err) = http_result {
            tracing::error!(error = %err, "presence REST server failed");
        }
        if let Err(err) = grpc_result {
            tracing::error!(error = %err, "presence gRPC server failed");
        }
        Ok(())
    }
}
