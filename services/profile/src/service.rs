//! The service itself: build it from its deps, run it on the caller's listeners.

use std::collections::BTreeMap;
use std::time::Duration;

use chatflow_authn::{ServiceIdentity, TokenVerifier};
use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use chatflow_flags::FlagCache;
use chatflow_outbox::RelayOptions;
use chatflow_rate_limit::{Policies, RateLimiter};
use chatflow_sql::SqlStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::consumer::{self, DirectoryWriter};
use crate::engine::{Engine, Parts};
use crate::grpc::{self, ProfileVisibilityHandle};
use crate::keys::DiscoveryKey;
use crate::rest;
use crate::store::ProfileStore;
use crate::{Config, DISCOVERY_ACTION, ProfileError};

/// What the service needs from the platform.
pub struct Deps {
    /// Its relational store (own schema or file).
    pub sql: SqlStore,
    /// The bus the outbox relays to and `account_verified` comes from.
    pub bus: EventBusRef,
    /// Where the discovery rate limit counts (shared by every replica).
    pub cache: CacheRef,
    /// Checks the access token of every request.
    pub verifier: TokenVerifier,
    /// Live `ratelimit.policies` overrides; `None` uses the configured policy only.
    pub flags: Option<FlagCache>,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// REST API.
    pub http: TcpListener,
}

/// The internal gRPC API's socket (`chatflow.profile.v1.ProfileService`)
/// and the identity that guards it; see [`ProfileService::with_grpc`].
pub struct GrpcListener {
    /// Where to serve it.
    pub listener: TcpListener,
    /// Admits only calls carrying a valid service assertion.
    pub identity: ServiceIdentity,
}

/// A built profile service, ready to run.
pub struct ProfileService {
    engine: Engine,
    bus: EventBusRef,
    verifier: TokenVerifier,
    grpc: Option<GrpcListener>,
}

impl ProfileService {
    /// Checks the discovery key and rate-limit policy, migrates the store and
    /// prepares the engine. `config.discovery.key` must be set (the launcher
    /// fills it in development).
    pub async fn build(config: Config, deps: Deps) -> Result<Self, ProfileError> {
        crate::metrics::describe();
        let key = config.discovery.key.as_ref().ok_or_else(|| {
            ProfileError::Internal("services.profile.discovery.key is not set".into())
        })?;
        let key = DiscoveryKey::from_base64(key.expose())?;
        let specs = BTreeMap::from([(
            DISCOVERY_ACTION.to_owned(),
            config.discovery.rate_limit.clone(),
        )]);
        let limiter = RateLimiter::new(deps.cache, Policies::from_specs(&specs)?, deps.flags);
        let store = ProfileStore::open(deps.sql).await?;
        tracing::info!(key_id = key.id(), "profile service built");
        Ok(Self {
            engine: Engine::new(Parts {
                config,
                store,
                key,
                limiter,
            }),
            bus: deps.bus,
            verifier: deps.verifier,
            grpc: None,
        })
    }

    /// Also serves the internal gRPC API on `grpc` while running. Optional,
    /// so callers that only need REST (and their `Listeners`) stay as they are.
    pub fn with_grpc(mut self, grpc: GrpcListener) -> Self {
        self.grpc = Some(grpc);
        self
    }

    /// Presence visibility answers for services in this process.
    pub fn visibility_handle(&self) -> ProfileVisibilityHandle {
        ProfileVisibilityHandle::new(self.engine.clone())
    }

    /// The id of the discovery key in use (public; clients send it back).
    pub fn discovery_key_id(&self) -> String {
        self.engine.key.id().to_owned()
    }

    /// Serves REST (and gRPC, if given), relays the outbox and consumes
    /// `account_verified` until `shutdown`, then drains (committing consumer
    /// offsets) and returns.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), ProfileError> {
        let Self {
            engine,
            bus,
            verifier,
            grpc: internal,
        } = self;
        // Ends the background tasks with the server, without touching the
        // caller's token (it may be the whole fleet's).
        let tasks = shutdown.child_token();
        let relay = {
            let (outbox, bus, shutdown) =
                (engine.store.outbox().clone(), bus.clone(), tasks.clone());
            let options = RelayOptions {
                idle_poll: Duration::from_millis(500),
                ..RelayOptions::default()
            };
            tokio::spawn(async move { outbox.run_relay(bus, options, shutdown).await })
        };
        let consumer = {
            let writer = DirectoryWriter {
                store: engine.store.clone(),
                key: engine.key.clone(),
            };
            let group = engine.config.consumer_group.clone();
            tokio::spawn(consumer::run(bus, group, writer, tasks.clone()))
        };
        let grpc_server = internal.map(|api| {
            let routes = grpc::routes(engine.clone(), &api.identity);
            chatflow_runtime::serve::serve_grpc(api.listener, routes, shutdown.clone())
        });
        let router = rest::router(engine, verifier);
        let http = chatflow_runtime::serve::serve_http(listeners.http, router, shutdown);
        let grpc_result = async {
            match grpc_server {
                Some(server) => server.await,
                None => Ok(()),
            }
        };
        let (http_result, grpc_result) = tokio::join!(http, grpc_result);
        if let Err(err) = http_result {
            tracing::error!(error = %err, "profile REST server failed");
        }
        if let Err(err) = grpc_result {
            tracing::error!(error = %err, "profile gRPC server failed");
        }
        tasks.cancel();
        for (name, task) in [("consumer", consumer), ("outbox relay", relay)] {
            if let Err(err) = task.await {
                tracing::warn!(error = %err, task = name, "profile task failed");
            }
        }
        Ok(())
    }
}
