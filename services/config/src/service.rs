//! The service itself: build it from its deps, run it on the caller's listeners.

use async_trait::async_trait;
use chatflow_config_client::{ClientError, FlagSource, FlagSourceRef, WatchEvent, WatchStream};
use chatflow_errors::HasKind;
use chatflow_events::{EventBusRef, Subscription};
use chatflow_flags::{Evaluation, EvaluationContext};
use chatflow_outbox::RelayOptions;
use chatflow_proto::config::v1::config_service_server::ConfigServiceServer;
use chatflow_sql::SqlStore;
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::auth::AdminAuth;
use crate::feed::ChangeFeed;
use crate::grpc::GrpcApi;
use crate::{Config, ConfigError, FlagStore, rest};
use chatflow_authn::OperatorToken;
use chatflow_authn::TokenVerifier;

/// What the service needs from the platform.
pub struct Deps {
    /// Its relational store (own schema or file).
    pub sql: SqlStore,
    /// The event bus.
    pub bus: EventBusRef,
    /// Verifies operators' access tokens; without one only the operator
    /// token opens the admin API.
    pub verifier: Option<TokenVerifier>,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// For the REST admin API.
    pub http: TcpListener,
    /// For gRPC.
    pub grpc: TcpListener,
}

/// Flag storage plus the change feed: what REST, gRPC and local callers share.
#[derive(Clone)]
pub struct Engine {
    pub(crate) store: FlagStore,
    pub(crate) feed: ChangeFeed,
    /// Ends open watch streams when the service stops, so servers can drain.
    stop: CancellationToken,
}

impl Engine {
    /// Evaluates a live flag; returns the evaluation and the flag version.
    pub async fn evaluate(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> Result<(Evaluation, u64), ConfigError> {
        let key: chatflow_flags::FlagKey = key.parse()?;
        let flag = self.store.get(key.as_str()).await?;
        Ok((chatflow_flags::evaluate(&flag, ctx), flag.version))
    }

    /// A snapshot of every live flag, then each change; a watcher that falls
    /// too far behind gets a fresh snapshot instead of a gap.
    pub async fn watch(&self) -> Result<WatchStream, ConfigError> {
        // Subscribe before reading, so nothing committed in between is missed.
        let receiver = self.feed.subscribe();
        let snapshot = self.store.list().await?;
        let engine = self.clone();
        let stream = futures::stream::unfold(
            (receiver, Some(WatchEvent::Snapshot(snapshot)), engine),
            |(mut receiver, pending, engine)| async move {
                if let Some(event) = pending {
                    return Some((Ok(event), (receiver, None, engine)));
                }
                let item = match receiver.recv().await {
                    Ok(flag) => Ok(WatchEvent::Change(flag)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "watcher lagged; resending a snapshot");
                        receiver = receiver.resubscribe();
                        engine
                            .store
                            .list()
                            .await
                            .map(WatchEvent::Snapshot)
                            .map_err(|e| ClientError::new(e.kind(), e.to_string()))
                    }
                    Err(RecvError::Closed) => return None,
                };
                Some((item, (receiver, None, engine)))
            },
        );
        Ok(stream
            .take_until(self.stop.clone().cancelled_owned())
            .boxed())
    }
}

#[async_trait]
impl FlagSource for Engine {
    async fn evaluate(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> Result<(Evaluation, u64), ClientError> {
        Engine::evaluate(self, key, ctx)
            .await
            .map_err(|e| ClientError::new(e.kind(), e.to_string()))
    }

    async fn watch(&self) -> Result<WatchStream, ClientError> {
        Engine::watch(self)
            .await
            .map_err(|e| ClientError::new(e.kind(), e.to_string()))
    }
}

/// A built config service, ready to run.
pub struct ConfigService {
    config: Config,
    engine: Engine,
    bus: EventBusRef,
    follower: Box<dyn Subscription>,
    admin: AdminAuth,
}

impl ConfigService {
    /// Migrates its store and prepares the engine; `admin_token` guards the REST API.
    pub async fn build(config: Config, deps: Deps, admin_token: &str) -> Result<Self, ConfigError> {
        crate::metrics::describe();
        let store = FlagStore::open(deps.sql).await?;
        let engine = Engine {
            store,
            feed: ChangeFeed::default(),
            stop: CancellationToken::new(),
        };
        // Positioned before `build` returns, so a replica that is built sees
        // every change any instance makes from then on.
        let follower = ChangeFeed::open_follower(&deps.bus).await?;
        Ok(Self {
            config,
            engine,
            bus: deps.bus,
            follower,
            admin: AdminAuth::new(OperatorToken::new(admin_token), deps.verifier),
        })
    }

    /// The in-process handle other services in this process use.
    pub fn source(&self) -> FlagSourceRef {
        std::sync::Arc::new(self.engine.clone())
    }

    /// The flag store, for tests and tools.
    pub fn store(&self) -> &FlagStore {
        &self.engine.store
    }

    /// Serves REST and gRPC, relays the outbox and follows the bus until
    /// `shutdown`; then ends watch streams, drains servers and returns.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), ConfigError> {
        let Self {
            config,
            engine,
            bus,
            follower,
            admin,
        } = self;
        let router = rest::router(engine.clone(), admin, config.max_body_bytes);
        let routes =
            tonic::service::Routes::new(ConfigServiceServer::new(GrpcApi::new(engine.clone())));

        let relay = {
            let (outbox, bus, shutdown) =
                (engine.store.outbox().clone(), bus.clone(), shutdown.clone());
            tokio::spawn(async move {
                outbox
                    .run_relay(bus, RelayOptions::default(), shutdown)
                    .await
            })
        };
        let following = {
            let (feed, shutdown) = (engine.feed.clone(), shutdown.clone());
            tokio::spawn(async move { feed.follow_bus(follower, shutdown).await })
        };
        let stop_watchers = {
            let (stop, shutdown) = (engine.stop.clone(), shutdown.clone());
            tokio::spawn(async move {
                shutdown.cancelled().await;
                stop.cancel();
            })
        };
        let http = chatflow_runtime::serve::serve_http(listeners.http, router, shutdown.clone());
        let grpc = chatflow_runtime::serve::serve_grpc(listeners.grpc, routes, shutdown.clone());
        let (http_result, grpc_result) = tokio::join!(http, grpc);
        if let Err(err) = http_result {
            tracing::error!(error = %err, "config REST server failed");
        }
        if let Err(err) = grpc_result {
            tracing::error!(error = %err, "config gRPC server failed");
        }
        let _ = tokio::join!(relay, following, stop_watchers);
        Ok(())
    }
}
