//! The service itself: build it from its deps, run it on the caller's listeners.

use std::sync::Arc;

use chatflow_authn::{ServiceIdentity, TokenVerifier};
use chatflow_events::EventBusRef;
use chatflow_groups_client::{
    GroupsClientRef, MEMBERSHIP_CHANGED_PARTITIONS, MEMBERSHIP_CHANGED_TOPIC,
};
use chatflow_outbox::RelayOptions;
use chatflow_sql::SqlStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::consumer::{self, BlockWriter};
use crate::engine::Engine;
use crate::invite::InviteKey;
use crate::store::GroupsStore;
use crate::{
    Config, GroupsError, PROFILE_TOPIC_PARTITIONS, USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC, grpc,
    rest,
};

/// What the service needs from the platform.
pub struct Deps {
    /// Its relational store (own schema or file).
    pub sql: SqlStore,
    /// The bus the outbox relays to and block events come from.
    pub bus: EventBusRef,
    /// Checks the access token of every REST request.
    pub verifier: TokenVerifier,
    /// Checks the service identity of every gRPC call.
    pub identity: ServiceIdentity,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// REST API.
    pub http: TcpListener,
    /// gRPC API (internal).
    pub grpc: TcpListener,
}

/// A built groups service, ready to run.
pub struct GroupsService {
    engine: Engine,
    bus: EventBusRef,
    verifier: TokenVerifier,
    identity: ServiceIdentity,
}

impl GroupsService {
    /// Checks the invite key, migrates the store, creates the topics it
    /// publishes and reads, and prepares the engine. `config.invite_key` must
    /// be set (the launcher fills it in development).
    pub async fn build(config: Config, deps: Deps) -> Result<Self, GroupsError> {
        crate::metrics::describe();
        let key = config
            .invite_key
            .as_ref()
            .ok_or_else(|| GroupsError::Internal("services.groups.invite_key is not set".into()))?;
        let invites = InviteKey::from_base64(key.expose())?;
        let bus_error =
            |e: chatflow_events::BusError| GroupsError::Internal(format!("event bus: {e}"));
        deps.bus
            .ensure_topic(MEMBERSHIP_CHANGED_TOPIC, MEMBERSHIP_CHANGED_PARTITIONS)
            .await
            .map_err(bus_error)?;
        for topic in [USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC] {
            deps.bus
                .ensure_topic(topic, PROFILE_TOPIC_PARTITIONS)
                .await
                .map_err(bus_error)?;
        }
        let store = GroupsStore::open(deps.sql).await?;
        Ok(Self {
            engine: Engine::new(store, config, invites),
            bus: deps.bus,
            verifier: deps.verifier,
            identity: deps.identity,
        })
    }

    /// The in-process handle other services in this process use.
    pub fn client(&self) -> GroupsClientRef {
        Arc::new(self.engine.clone())
    }

    /// Serves REST and gRPC, relays the outbox and consumes block events
    /// until `shutdown`; then drains (committing consumer offsets) and returns.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), GroupsError> {
        let Self {
            engine,
            bus,
            verifier,
            identity,
        } = self;
        // Ends the background tasks with the servers, without touching the
        // caller's token (it may be the whole fleet's).
        let tasks = shutdown.child_token();
        let relay = {
            let (outbox, bus, stop) = (engine.store.outbox().clone(), bus.clone(), tasks.clone());
            tokio::spawn(async move { outbox.run_relay(bus, RelayOptions::default(), stop).await })
        };
        let consumer = {
            let writer = BlockWriter {
                engine: engine.clone(),
            };
            let group = engine.config.consumer_group.clone();
            tokio::spawn(consumer::run(bus, group, writer, tasks.clone()))
        };
        let routes = grpc::routes(engine.clone(), &identity);
        let router = rest::router(engine, verifier);
        let http = chatflow_runtime::serve::serve_http(listeners.http, router, shutdown.clone());
        let grpc = chatflow_runtime::serve::serve_grpc(listeners.grpc, routes, shutdown.clone());
        let (http_result, grpc_result) = tokio::join!(http, grpc);
        if let Err(err) = http_result {
            tracing::error!(error = %err, "groups REST server failed");
        }
        if let Err(err) = grpc_result {
            tracing::error!(error = %err, "groups gRPC server failed");
        }
        tasks.cancel();
        for (name, task) in [("block consumer", consumer), ("outbox relay", relay)] {
            if let Err(err) = task.await {
                tracing::warn!(error = %err, task = name, "groups task failed");
            }
        }
        Ok(())
    }
}
