//! Plugs the config service into the platform (`chatflow up`, `chatflow serve config`).

use async_trait::async_trait;
use chatflow_platform::{ConfigFlags, Endpoint, Platform, PlatformError, ServiceLauncher};

use crate::{Config, ConfigService, Deps, FLAG_CHANGED_TOPIC, Listeners};
use chatflow_platform::{OPERATOR_TOKEN_FILE, check_operator_token};

/// Partitions of `chatflow.config.flag_changed` (keyed by flag key).
const FLAG_CHANGED_PARTITIONS: u32 = 4;
const NAME: &str = "config";

/// Starts the config service on a platform.
pub struct ConfigLauncher;

#[async_trait]
impl ServiceLauncher for ConfigLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let config: Config = platform.service_config(NAME)?;
        let token = admin_token(&config, platform)?;
        let sql = platform.sql(NAME).await?;
        let bus = platform.bus().clone();
        bus.ensure_topic(FLAG_CHANGED_TOPIC, FLAG_CHANGED_PARTITIONS)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        let verifier = Some(platform.token_verifier(NAME, &config.auth)?);
        let deps = Deps { sql, bus, verifier };
        let service = ConfigService::build(config.clone(), deps, &token)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        // Flag followers in this process read straight from the service.
        platform.handles().publish(ConfigFlags(service.source()));
        let listeners = Listeners {
            http: chatflow_platform::bind(&config.http_addr).await?,
            grpc: chatflow_platform::bind(&config.grpc_addr).await?,
        };
        let endpoints = vec![
            Endpoint::of(NAME, "http", &listeners.http, "http", ""),
            Endpoint::of(NAME, "grpc", &listeners.grpc, "http", ""),
        ];
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(listeners, token).await {
                tracing::error!(error = %err, "config service stopped with an error");
            }
        });
        Ok(endpoints)
    }
}

/// The configured admin token; in development the fleet's operator token in
/// the data directory (shared with auth, created if absent).
fn admin_token(config: &Config, platform: &Platform) -> Result<String, PlatformError> {
    platform.secret(
        &chatflow_platform::SecretSpec {
            setting: "services.config.admin_token",
            env: "CHATFLOW_SERVICES__CONFIG__ADMIN_TOKEN",
            expects: "at least 16 characters",
            file: OPERATOR_TOKEN_FILE,
        },
        config.admin_token.as_ref(),
        chatflow_platform::random_hex,
        check_operator_token,
    )
}
