//! Plugs the receipts service into the platform (`chatflow serve receipts`).
//!
//! Membership comes from the groups service: the one in this process, or
//! with `groups_url` set one reached over gRPC through `CachedGroups`, whose
//! answers are dropped as soon as `chatflow.groups.membership_changed` says
//! a conversation changed. The launcher creates every topic the service
//! reads and writes, adds a store check to `/readyz` (served with `/healthz`
//! and `/metrics` by the platform's ops server), and publishes a
//! [`ReceiptsHandle`] for the gateway and other services of the same process.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_groups_client::{
    CacheOptions, CachedGroups, GroupsClientRef, GrpcGroupsClient, LocalGroups,
    MEMBERSHIP_CHANGED_PARTITIONS, MEMBERSHIP_CHANGED_TOPIC,
};
use chatflow_platform::{Endpoint, Platform, PlatformError, Reach, ServiceLauncher};

use crate::consumer::MESSAGE_TOPICS;
use crate::events::{TOPIC_PARTITIONS, TOPICS};
use crate::{Config, Deps, Listeners, ReceiptsHandle, ReceiptsService};

const NAME: &str = "receipts";

/// Starts the receipts service on a platform.
pub struct ReceiptsLauncher;

#[async_trait]
impl ServiceLauncher for ReceiptsLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let config: Config = platform.service_config(NAME)?;
        let identity = platform.service_identity(NAME, config.internal_secret.as_ref())?;
        let bus = platform.bus().clone();
        let router_partitions = chatflow_message_router::events::TOPIC_PARTITIONS;
        let topics = TOPICS
            .iter()
            .map(|topic| (*topic, TOPIC_PARTITIONS))
            .chain(
                MESSAGE_TOPICS
                    .iter()
                    .map(|topic| (*topic, router_partitions)),
            )
            .chain([(MEMBERSHIP_CHANGED_TOPIC, MEMBERSHIP_CHANGED_PARTITIONS)]);
        for (topic, partitions) in topics {
            bus.ensure_topic(topic, partitions)
                .await
                .map_err(|e| PlatformError::service(NAME, e))?;
        }
        let groups = match &config.groups_url {
            None => {
                // Refuse to start a fleet where nobody answers membership.
                platform
                    .handles()
                    .expect::<LocalGroups>("services.receipts.groups_url");
                Reach::InProcess(platform.handles().clone())
            }
            Some(url) => {
                let client = GrpcGroupsClient::connect_lazy(url, &identity).map_err(|e| {
                    PlatformError::Config(format!("services.receipts.groups_url: {e}"))
                })?;
                let cached = CachedGroups::spawn(
                    Arc::new(client) as GroupsClientRef,
                    bus.clone(),
                    CacheOptions::default(),
                    platform.shutdown().token(),
                )
                .await
                .map_err(|e| PlatformError::service(NAME, e))?;
                Reach::Remote(Arc::new(cached) as GroupsClientRef)
            }
        };
        let deps = Deps {
            kv: platform.kv().await?,
            bus,
            cache: platform.cache().clone(),
            groups,
            verifier: platform.token_verifier(NAME, &config.auth)?,
            identity,
        };
        let (http_addr, grpc_addr) = (config.http_addr.clone(), config.grpc_addr.clone());
        let service = ReceiptsService::build(config, deps)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        // `/readyz` fails while the receipts tables cannot be read.
        let probe = service.store().clone();
        platform.health().add_check("kv:receipts", move || {
            let probe = probe.clone();
            async move {
                probe
                    .head("readyz")
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        });
        // The gateway (and other services) in this process call it without the network.
        platform.handles().publish(ReceiptsHandle(service.client()));
        let listeners = Listeners {
            http: chatflow_platform::bind(&http_addr).await?,
            grpc: chatflow_platform::bind(&grpc_addr).await?,
        };
        let endpoints = vec![
            Endpoint::of(NAME, "http", &listeners.http, "http", ""),
            Endpoint::of(NAME, "grpc", &listeners.grpc, "http", ""),
        ];
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(listeners, token).await {
                tracing::error!(error = %err, "receipts service stopped with an error");
            }
        });
        Ok(endpoints)
    }
}
