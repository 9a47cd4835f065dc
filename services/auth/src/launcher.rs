//! Plugs the auth service into the platform (`chatflow up`, `chatflow serve auth`).

use async_trait::async_trait;
use chatflow_platform::{AuthKeys, Endpoint, Platform, PlatformError, ServiceLauncher};
use chatflow_runtime::Secret;

use crate::{
    ACCOUNT_VERIFIED_TOPIC, AuthService, Config, Deps, Listeners, SESSIONS_REVOKED_TOPIC,
    VERIFICATION_REQUESTED_TOPIC,
};

/// Partitions of the auth topics (keyed by account id).
const PARTITIONS: u32 = 4;
const NAME: &str = "auth";

/// Starts the auth service on a platform.
pub struct AuthLauncher;

#[async_trait]
impl ServiceLauncher for AuthLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let mut config: Config = platform.service_config(NAME)?;
        config.admin_token = Some(Secret::new(admin_token(&config, platform)?));
        if platform.production() && config.log_verification_codes {
            tracing::info!("verification codes are never logged in production");
            config.log_verification_codes = false;
        }
        let sql = platform.sql(NAME).await?;
        let bus = platform.bus().clone();
        for topic in [
            VERIFICATION_REQUESTED_TOPIC,
            SESSIONS_REVOKED_TOPIC,
            ACCOUNT_VERIFIED_TOPIC,
        ] {
            bus.ensure_topic(topic, PARTITIONS)
                .await
                .map_err(|e| PlatformError::service(NAME, e))?;
        }
        let cache = platform.cache().clone();
        let http_addr = config.http_addr.clone();
        let service = AuthService::build(config, Deps { sql, bus, cache })
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        // Verifiers of the other services in this process read keys from here.
        platform
            .handles()
            .publish(AuthKeys(std::sync::Arc::new(service.jwks_source())));
        let http = chatflow_platform::bind(&http_addr).await?;
        let endpoint = Endpoint::of(NAME, "http", &http, "http", "");
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(Listeners { http }, token).await {
                tracing::error!(error = %err, "auth service stopped with an error");
            }
        });
        Ok(vec![endpoint])
    }
}

/// The configured admin token; in development the fleet's operator token
/// in the data directory (shared with the config service, created if absent).
fn admin_token(config: &Config, platform: &Platform) -> Result<String, PlatformError> {
    platform.secret(
        &chatflow_platform::SecretSpec {
            setting: "services.auth.admin_token",
            env: "CHATFLOW_SERVICES__AUTH__ADMIN_TOKEN",
            expects: "at least 16 characters",
            file: chatflow_platform::OPERATOR_TOKEN_FILE,
        },
        config.admin_token.as_ref(),
        chatflow_platform::random_hex,
        chatflow_platform::check_operator_token,
    )
}
