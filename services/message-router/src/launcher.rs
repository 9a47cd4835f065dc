//! Plugs the message router into the platform (`chatflow serve message-router`).
//!
//! Membership comes from the groups service: the one in this process, or
//! with `groups_url` set one reached over gRPC through `CachedGroups`, whose
//! answers are dropped as soon as `chatflow.groups.membership_changed` says
//! a conversation changed.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_groups_client::{
    CacheOptions, CachedGroups, GroupsClientRef, GrpcGroupsClient, MEMBERSHIP_CHANGED_PARTITIONS,
    MEMBERSHIP_CHANGED_TOPIC,
};
use chatflow_platform::{Endpoint, Platform, PlatformError, Reach, ServiceLauncher};

use crate::events::{TOPIC_PARTITIONS, TOPICS};
use crate::notices::MembershipNotices;
use crate::{Config, Deps, GroupsMembership, Listeners, RouterHandle, RouterService};

const NAME: &str = "message-router";

/// Starts the message router on a platform.
pub struct RouterLauncher;

#[async_trait]
impl ServiceLauncher for RouterLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let config: Config = platform.service_config(NAME)?;
        let identity = platform.service_identity(NAME, config.internal_secret.as_ref())?;
        let bus = platform.bus().clone();
        for topic in TOPICS {
            bus.ensure_topic(topic, TOPIC_PARTITIONS)
                .await
                .map_err(|e| PlatformError::service(NAME, e))?;
        }
        let groups = match &config.groups_url {
            None => Reach::InProcess(platform.handles().clone()),
            Some(url) => {
                let client = GrpcGroupsClient::connect_lazy(url, &identity).map_err(|e| {
                    PlatformError::Config(format!("services.message-router.groups_url: {e}"))
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
        let membership = GroupsMembership::cached(groups, bus.clone(), platform.shutdown().token());
        let deps = Deps {
            kv: platform.kv().await?,
            bus: bus.clone(),
            cache: platform.cache().clone(),
            membership: Arc::new(membership),
            verifier: platform.token_verifier(NAME, &config.auth)?,
            identity,
        };
        let (http_addr, grpc_addr) = (config.http_addr.clone(), config.grpc_addr.clone());
        let service = RouterService::build(config, deps)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        // Gateways (and other services) in this process call it without the network.
        platform.handles().publish(RouterHandle(service.client()));
        // Membership changes become system notices in each conversation's order.
        bus.ensure_topic(MEMBERSHIP_CHANGED_TOPIC, MEMBERSHIP_CHANGED_PARTITIONS)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        let notices = MembershipNotices::new(service.client());
        let (notices_bus, notices_stop) = (bus.clone(), platform.shutdown().token());
        platform
            .shutdown()
            .spawn("message-router-notices", async move {
                if let Err(err) = notices.run(notices_bus, notices_stop).await {
                    tracing::error!(error = %err, "membership notices stopped");
                }
            });
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
                tracing::error!(error = %err, "message router stopped with an error");
            }
        });
        Ok(endpoints)
    }
}
