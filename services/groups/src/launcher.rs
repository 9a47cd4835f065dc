//! Plugs the groups service into the platform (`chatflow up`, `chatflow-groups`).

use async_trait::async_trait;
use chatflow_groups_client::LocalGroups;
use chatflow_platform::{Endpoint, Platform, PlatformError, ServiceLauncher};
use chatflow_runtime::Secret;

use crate::invite::InviteKey;
use crate::{Config, Deps, GroupsService, Listeners};

const NAME: &str = "groups";
/// The development invite key file in the data directory.
const INVITE_KEY_FILE: &str = "groups-invite-key";

/// Starts the groups service on a platform.
pub struct GroupsLauncher;

#[async_trait]
impl ServiceLauncher for GroupsLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let mut config: Config = platform.service_config(NAME)?;
        config.invite_key = Some(Secret::new(invite_key(&config, platform)?));
        let identity = platform.service_identity(NAME, config.internal_secret.as_ref())?;
        let deps = Deps {
            sql: platform.sql(NAME).await?,
            bus: platform.bus().clone(),
            verifier: platform.token_verifier(NAME, &config.auth)?,
            identity,
        };
        let listeners = Listeners {
            http: chatflow_platform::bind(&config.http_addr).await?,
            grpc: chatflow_platform::bind(&config.grpc_addr).await?,
        };
        let service = GroupsService::build(config, deps)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        // The router and gateway in this process ask the service directly.
        platform.handles().publish(LocalGroups(service.client()));
        let endpoints = vec![
            Endpoint::of(NAME, "http", &listeners.http, "http", ""),
            Endpoint::of(NAME, "grpc", &listeners.grpc, "http", ""),
        ];
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(listeners, token).await {
                tracing::error!(error = %err, "groups service stopped with an error");
            }
        });
        Ok(endpoints)
    }
}

/// The configured invite key (checked); in development one generated into
/// the data directory and kept there, so links survive restarts.
fn invite_key(config: &Config, platform: &Platform) -> Result<String, PlatformError> {
    platform.secret(
        &chatflow_platform::SecretSpec {
            setting: "services.groups.invite_key",
            env: "CHATFLOW_SERVICES__GROUPS__INVITE_KEY",
            expects: "base64 of at least 32 random bytes",
            file: INVITE_KEY_FILE,
        },
        config.invite_key.as_ref(),
        InviteKey::generate_base64,
        |key| {
            InviteKey::from_base64(key)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
}
