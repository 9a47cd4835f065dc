//! Plugs the gateway into the platform (`chatflow up`, `chatflow-gateway`).
//!
//! In one process the gateway calls the router and the groups service
//! directly; with `router_url` / `groups_url` set it calls them over gRPC,
//! signing each call with the fleet's service identity. Receipts are
//! reached the same way (`receipts_url`). Presence is a replica: the
//! presence service's when it runs in this process, otherwise the
//! gateway's own on the shared cache (privacy from the profile service, in
//! this process or at `profile_url`).

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_groups_client::{CacheOptions, CachedGroups, GroupsClientRef, GrpcGroupsClient};
use chatflow_message_router::{GrpcRouterClient, RouterClientRef};
use chatflow_platform::{Endpoint, Platform, PlatformError, Reach, ServiceLauncher};
use chatflow_presence::{
    PresenceHandle, PresenceNode, ProfileVisibility, ReachVisibility, VisibilityRef,
};
use chatflow_receipts::{GrpcReceiptsClient, ReceiptsApiRef};

use crate::adapters::{GroupsMembers, RouterPort};
use crate::fanout::UNDELIVERED_TOPIC;
use crate::live_adapters::{NodePresence, ReceiptsPort};
use crate::{Config, Deps, FanoutDeps, GatewayService, Listeners};

const NAME: &str = "gateway";
/// Partitions of `chatflow.messages.undelivered` (keyed by conversation).
const UNDELIVERED_PARTITIONS: u32 = 8;

/// Starts a gateway node on a platform.
pub struct GatewayLauncher;

#[async_trait]
impl ServiceLauncher for GatewayLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let config: Config = platform.service_config(NAME)?;
        let bus = platform.bus().clone();
        bus.ensure_topic(UNDELIVERED_TOPIC, UNDELIVERED_PARTITIONS)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        let identity = || platform.service_identity(NAME, config.internal_secret.as_ref());
        let router = match &config.router_url {
            Some(url) => {
                let client = GrpcRouterClient::connect_lazy(url, identity()?).map_err(|e| {
                    PlatformError::Config(format!("services.gateway.router_url: {e}"))
                })?;
                Reach::Remote(Arc::new(client) as RouterClientRef)
            }
            None => Reach::InProcess(platform.handles().clone()),
        };
        let groups = match &config.groups_url {
            Some(url) => {
                let client = GrpcGroupsClient::connect_lazy(url, &identity()?).map_err(|e| {
                    PlatformError::Config(format!("services.gateway.groups_url: {e}"))
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
            None => Reach::InProcess(platform.handles().clone()),
        };
        let receipts = match &config.receipts_url {
            Some(url) => {
                let client = GrpcReceiptsClient::connect_lazy(url, &identity()?).map_err(|e| {
                    PlatformError::Config(format!("services.gateway.receipts_url: {e}"))
                })?;
                Reach::Remote(Arc::new(client) as ReceiptsApiRef)
            }
            None => {
                platform
                    .handles()
                    .expect::<chatflow_receipts::ReceiptsHandle>("services.gateway.receipts_url");
                Reach::InProcess(platform.handles().clone())
            }
        };
        let presence = presence_replica(platform, &config).await?;
        let http_addr = config.http_addr.clone();
        let verifier = platform.token_verifier(NAME, &config.auth)?;
        let service = GatewayService::build(
            config,
            Deps {
                cache: platform.cache().clone(),
                verifier,
                messages: Arc::new(RouterPort::new(router)),
                members: Arc::new(GroupsMembers::new(groups)),
                receipts: Arc::new(ReceiptsPort::new(receipts)),
                presence: Arc::new(NodePresence::new(presence)),
                fanout: Some(FanoutDeps { bus }),
            },
        );
        let http = chatflow_platform::bind(&http_addr).await?;
        let endpoint = Endpoint::of(NAME, "ws", &http, "ws", "/v1/ws");
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(Listeners { http }, token).await {
                tracing::error!(error = %err, "gateway stopped with an error");
            }
        });
        Ok(vec![endpoint])
    }
}

/// The presence service's replica when it runs in this process; otherwise
/// one of the gateway's own, following profile events for privacy changes.
async fn presence_replica(
    platform: &Platform,
    config: &Config,
) -> Result<PresenceNode, PlatformError> {
    if let Some(PresenceHandle(node)) = platform.handles().get::<PresenceHandle>() {
        return Ok(node);
    }
    config
        .presence
        .check()
        .map_err(|e| PlatformError::Config(format!("services.gateway.presence: {e}")))?;
    let visibility = match &config.profile_url {
        Some(url) => {
            let identity = platform.service_identity(NAME, config.internal_secret.as_ref())?;
            let client = ProfileVisibility::connect_lazy(url, &identity)
                .map_err(|e| PlatformError::Config(format!("services.gateway.profile_url: {e}")))?;
            Reach::Remote(Arc::new(client) as VisibilityRef)
        }
        None => {
            platform
                .handles()
                .expect::<chatflow_profile::ProfileVisibilityHandle>(
                    "services.gateway.profile_url",
                );
            Reach::InProcess(platform.handles().clone())
        }
    };
    let bus = platform.bus().clone();
    for topic in chatflow_presence::PROFILE_TOPICS {
        bus.ensure_topic(topic, chatflow_presence::PROFILE_TOPIC_PARTITIONS)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
    }
    let node = PresenceNode::start(
        platform.cache().clone(),
        Arc::new(ReachVisibility(visibility)),
        config.presence.clone(),
        platform.shutdown().token(),
    )
    .await
    .map_err(|e| PlatformError::service(NAME, e))?;
    node.follow_profile_events(bus)
        .await
        .map_err(|e| PlatformError::service(NAME, e))?;
    Ok(node)
}
