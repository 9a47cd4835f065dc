//! The service itself: build it from its deps, run it on the caller's listeners.

use std::sync::Arc;

use chatflow_authn::{ServiceIdentity, TokenVerifier};
use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use chatflow_kv::KvStoreRef;
use chatflow_proto::messages::v1::router_service_server::RouterServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::breaker::BreakerState;
use crate::engine::{Engine, EngineParts};
use crate::grpc::GrpcApi;
use crate::lanes::Lanes;
use crate::membership::{GuardedMembership, MembershipRef};
use crate::relay::{self, Relay};
use crate::store::MessageStore;
use crate::{Config, RouterClientRef, RouterError, rest};

/// What the service needs from the platform.
pub struct Deps {
    /// The message store (DynamoDB, or SQLite embedded).
    pub kv: KvStoreRef,
    /// The event bus the relay publishes to.
    pub bus: EventBusRef,
    /// The cache holding the relay's shard leases.
    pub cache: CacheRef,
    /// Who may post and read where (the groups service, adapted).
    pub membership: MembershipRef,
    /// Verifies REST callers' access tokens.
    pub verifier: TokenVerifier,
    /// Checks the identity of gRPC callers (and names this service).
    pub identity: ServiceIdentity,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// For REST.
    pub http: TcpListener,
    /// For gRPC.
    pub grpc: TcpListener,
}

/// A built router, ready to run.
pub struct RouterService {
    config: Config,
    engine: Engine,
    lanes: Lanes,
    relay: Relay,
    verifier: TokenVerifier,
    identity: ServiceIdentity,
}

impl RouterService {
    /// Creates its tables when missing and prepares the engine and relay.
    pub async fn build(config: Config, deps: Deps) -> Result<Self, RouterError> {
        crate::metrics::describe();
        let store = MessageStore::new(deps.kv);
        store.ensure_tables().await?;
        let lanes = Lanes::from_config(&config.lanes);
        let relay = relay::relay(&store, deps.bus, deps.cache, config.relay.clone());
        let engine = Engine::new(EngineParts {
            store,
            membership: GuardedMembership::new(deps.membership, &config.membership),
            lanes: lanes.clone(),
            limits: config.limits.clone(),
            sequencing: config.sequencing.clone(),
            lane_config: config.lanes.clone(),
            idempotency_ttl_secs: config.idempotency_ttl_secs,
            relay_wake: relay.wake(),
        });
        Ok(Self {
            config,
            engine,
            lanes,
            relay,
            verifier: deps.verifier,
            identity: deps.identity,
        })
    }

    /// The in-process client other services of this process use. Writes
    /// are carried out once [`RouterService::run`] has started the workers.
    pub fn client(&self) -> RouterClientRef {
        Arc::new(self.engine.clone())
    }

    /// The router's tables, for tests and tools.
    pub fn store(&self) -> &MessageStore {
        self.engine.store()
    }

    /// The state of the membership circuit breaker.
    pub fn membership_breaker(&self) -> BreakerState {
        self.engine.membership().breaker_state()
    }

    /// A handle on the breaker state that outlives `run` (for tests).
    pub fn breaker_probe(&self) -> impl Fn() -> BreakerState + Send + Sync + 'static {
        let engine = self.engine.clone();
        move || engine.membership().breaker_state()
    }

    /// Serves REST and gRPC, runs the write workers and the outbox relay
    /// until `shutdown`; then drains the servers (in-flight writes finish),
    /// stops the workers, relays what they committed and returns.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), RouterError> {
        let Self {
            config,
            engine,
            lanes,
            relay,
            verifier,
            identity,
        } = self;
        let stop_workers = CancellationToken::new();
        let workers = lanes.spawn_workers(config.lanes.workers, stop_workers.clone());
        let stop_relay = CancellationToken::new();
        let relaying = tokio::spawn(relay.run(stop_relay.clone()));

        let router = rest::router(engine.clone(), verifier, config.max_body_bytes);
        let grpc = RouterServiceServer::with_interceptor(
            GrpcApi::new(engine, &config.system_senders),
            identity.server_interceptor(),
        );
        let routes = tonic::service::Routes::new(grpc);
        let http = chatflow_runtime::serve::serve_http(listeners.http, router, shutdown.clone());
        let grpc = chatflow_runtime::serve::serve_grpc(listeners.grpc, routes, shutdown.clone());
        let (http_result, grpc_result) = tokio::join!(http, grpc);
        if let Err(err) = http_result {
            tracing::error!(error = %err, "router REST server failed");
        }
        if let Err(err) = grpc_result {
            tracing::error!(error = %err, "router gRPC server failed");
        }
        lanes.close();
        stop_workers.cancel();
        for worker in workers {
            let _ = worker.await;
        }
        stop_relay.cancel();
        let _ = relaying.await;
        Ok(())
    }
}
