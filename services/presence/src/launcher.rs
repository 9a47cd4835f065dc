//! Plugs the presence service into the platform (`chatflow serve presence`).
//!
//! Privacy answers come from the profile service: the one in this process
//! (its published handle, looked up at each call; the fleet refuses to start
//! without it), or with `profile_url` set one reached over gRPC. The
//! replica is published as [`PresenceHandle`] for a gateway in the same
//! process, and its replication health is a readiness check.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_platform::{Endpoint, Platform, PlatformError, Reach, ServiceLauncher};
use chatflow_profile::ProfileVisibilityHandle;

use crate::{
    Config, Deps, Listeners, PresenceHandle, PresenceService, ProfileVisibility, ReachVisibility,
    VisibilityRef,
};

const NAME: &str = "presence";

/// Starts the presence service on a platform.
pub struct PresenceLauncher;

#[async_trait]
impl ServiceLauncher for PresenceLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let config: Config = platform.service_config(NAME)?;
        config
            .presence
            .check()
            .map_err(|e| PlatformError::Config(format!("services.presence.presence: {e}")))?;
        let identity = platform.service_identity(NAME, config.internal_secret.as_ref())?;
        let reach = match &config.profile_url {
            None => {
                platform
                    .handles()
                    .expect::<ProfileVisibilityHandle>("services.presence.profile_url");
                Reach::InProcess(platform.handles().clone())
            }
            Some(url) => {
                let client = ProfileVisibility::connect_lazy(url, &identity)
                    .map_err(|e| PlatformError::Config(format!("services.presence.{e}")))?;
                Reach::Remote(Arc::new(client) as VisibilityRef)
            }
        };
        let deps = Deps {
            cache: platform.cache().clone(),
            bus: platform.bus().clone(),
            visibility: Arc::new(ReachVisibility(reach)),
            verifier: platform.token_verifier(NAME, &config.auth)?,
            identity,
            replica_shutdown: platform.shutdown().token(),
        };
        let listeners = Listeners {
            http: chatflow_platform::bind(&config.http_addr).await?,
            grpc: chatflow_platform::bind(&config.grpc_addr).await?,
        };
        let service = PresenceService::build(config, deps)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        let node = service.node();
        platform.handles().publish(PresenceHandle(node.clone()));
        platform.health().add_check("presence", move || {
            let node = node.clone();
            async move {
                if node.is_replicating() {
                    Ok(())
                } else {
                    Err("not following the presence delta channel".to_owned())
                }
            }
        });
        let endpoints = vec![
            Endpoint::of(NAME, "http", &listeners.http, "http", ""),
            Endpoint::of(NAME, "grpc", &listeners.grpc, "http", ""),
        ];
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(listeners, token).await {
                tracing::error!(error = %err, "presence service stopped with an error");
            }
        });
        Ok(endpoints)
    }
}
