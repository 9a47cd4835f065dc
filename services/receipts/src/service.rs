//! The service itself: build it from its deps, run it on the caller's listeners.

use std::sync::Arc;
use std::time::Duration;

use chatflow_authn::{ServiceIdentity, TokenVerifier};
use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use chatflow_groups_client::GroupsClientRef;
use chatflow_kv::KvStoreRef;
use chatflow_platform::Reach;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::consumer::Feeds;
use crate::engine::{Engine, EngineConfig};
use crate::groups::Groups;
use crate::relay::{self, Relay};
use crate::store::ReceiptsStore;
use crate::{Config, ReceiptsApiRef, ReceiptsError, grpc, rest};

/// What the service needs from the platform.
pub struct Deps {
    /// The receipts tables' store (DynamoDB, or SQLite embedded).
    pub kv: KvStoreRef,
    /// The bus the relay publishes to and the feeds come from.
    pub bus: EventBusRef,
    /// The cache holding the relay's shard leases.
    pub cache: CacheRef,
    /// The groups service: in this process, or a (cached) remote client.
    pub groups: Reach<GroupsClientRef>,
    /// Verifies REST callers' access tokens.
    pub verifier: TokenVerifier,
    /// Checks the identity of gRPC callers.
    pub identity: ServiceIdentity,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// For REST.
    pub http: TcpListener,
    /// For gRPC.
    pub grpc: TcpListener,
}

/// A built receipts service, ready to run.
pub struct ReceiptsService {
    config: Config,
    engine: Engine,
    relay: Relay,
    bus: EventBusRef,
    verifier: TokenVerifier,
    identity: ServiceIdentity,
}

impl ReceiptsService {
    /// Creates its tables when missing and prepares the engine and relay.
    /// The topics it reads and writes must exist (the launcher creates them).
    pub async fn build(config: Config, deps: Deps) -> Result<Self, ReceiptsError> {
        crate::metrics::describe();
        let store = ReceiptsStore::new(deps.kv);
        store.ensure_tables().await?;
        let relay = relay::relay(&store, deps.bus.clone(), deps.cache, config.relay.clone());
        let groups = Groups::new(
            deps.groups,
            Duration::from_millis(config.groups_timeout_ms.max(1)),
        );
        let engine = Engine::new(
            store,
            groups,
            EngineConfig {
                unread_concurrency: config.unread_concurrency,
                max_write_attempts: config.max_write_attempts,
            },
            relay.wake(),
        );
        Ok(Self {
            config,
            engine,
            relay,
            bus: deps.bus,
            verifier: deps.verifier,
            identity: deps.identity,
        })
    }

    /// The in-process client other services of this process use.
    pub fn client(&self) -> ReceiptsApiRef {
        Arc::new(self.engine.clone())
    }

    /// The receipts tables, for tests and tools.
    pub fn store(&self) -> &ReceiptsStore {
        self.engine.store()
    }

    /// Serves REST and gRPC, follows the message and membership feeds and
    /// runs the outbox relay until `shutdown`; then drains the servers,
    /// stops the feeds (committing their offsets), relays what was
    /// committed and returns.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), ReceiptsError> {
        let Self {
            config,
            engine,
            relay,
            bus,
            verifier,
            identity,
        } = self;
        // Stopped after the servers, without touching the caller's token.
        let stop_feeds = CancellationToken::new();
        let feeds = {
            let (feeds, bus, group) = (Feeds::new(engine.clone()), bus, config.consumer_group);
            let stop = stop_feeds.clone();
            tokio::spawn(async move {
                if let Err(err) = feeds.run(bus, &group, stop).await {
                    tracing::error!(error = %err, "receipts feeds stopped");
                }
            })
        };
        let stop_relay = CancellationToken::new();
        let relaying = tokio::spawn(relay.run(stop_relay.clone()));

        let routes = grpc::routes(engine.clone(), &identity);
        let router = rest::router(engine, verifier, config.max_body_bytes);
        let http = chatflow_runtime::serve::serve_http(listeners.http, router, shutdown.clone());
        let grpc = chatflow_runtime::serve::serve_grpc(listeners.grpc, routes, shutdown.clone());
        let (http_result, grpc_result) = tokio::join!(http, grpc);
        if let Err(err) = http_result {
            tracing::error!(error = %err, "receipts REST server failed");
        }
        if let Err(err) = grpc_result {
            tracing::error!(error = %err, "receipts gRPC server failed");
        }
        stop_feeds.cancel();
        let _ = feeds.await;
        stop_relay.cancel();
        let _ = relaying.await;
        Ok(())
    }
}
