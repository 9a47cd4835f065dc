//! Plugs the profile service into the platform (`chatflow up`, `chatflow-profile`).

use async_trait::async_trait;
use chatflow_config_client::FlagWatcher;
use chatflow_flags::FlagCache;
use chatflow_platform::{Endpoint, Platform, PlatformError, ServiceLauncher};
use chatflow_runtime::Secret;

use crate::keys::DiscoveryKey;
use crate::{
    ACCOUNT_VERIFIED_TOPIC, Config, Deps, GrpcListener, Listeners, PUBLISHED_TOPICS, ProfileService,
};

/// Partitions of the profile topics (keyed by user id); also used when this
/// service is the first to create `chatflow.auth.account_verified`.
const PARTITIONS: u32 = 4;
const NAME: &str = "profile";
/// The development key file in the data directory.
const KEY_FILE: &str = "profile-discovery-key";

/// Starts the profile service on a platform.
pub struct ProfileLauncher;

#[async_trait]
impl ServiceLauncher for ProfileLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let mut config: Config = platform.service_config(NAME)?;
        config.discovery.key = Some(Secret::new(discovery_key(&config, platform)?));
        let sql = platform.sql(NAME).await?;
        let bus = platform.bus().clone();
        for topic in PUBLISHED_TOPICS.into_iter().chain([ACCOUNT_VERIFIED_TOPIC]) {
            bus.ensure_topic(topic, PARTITIONS)
                .await
                .map_err(|e| PlatformError::service(NAME, e))?;
        }
        let deps = Deps {
            sql,
            bus,
            cache: platform.cache().clone(),
            verifier: platform.token_verifier(NAME, &config.auth)?,
            flags: watch_flags(&config, platform)?,
        };
        let identity = platform.service_identity(NAME, config.internal_secret.as_ref())?;
        let (http_addr, grpc_addr) = (config.http_addr.clone(), config.grpc_addr.clone());
        let http = chatflow_platform::bind(&http_addr).await?;
        let grpc = GrpcListener {
            listener: chatflow_platform::bind(&grpc_addr).await?,
            identity,
        };
        let endpoints = vec![
            Endpoint::of(NAME, "http", &http, "http", ""),
            Endpoint::of(NAME, "grpc", &grpc.listener, "http", ""),
        ];
        let service = ProfileService::build(config, deps)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?
            .with_grpc(grpc);
        // Presence in this process asks without the network.
        platform.handles().publish(service.visibility_handle());
        let token = platform.shutdown().token();
        platform.shutdown().spawn(NAME, async move {
            if let Err(err) = service.run(Listeners { http }, token).await {
                tracing::error!(error = %err, "profile service stopped with an error");
            }
        });
        Ok(endpoints)
    }
}

/// The configured discovery key (checked); in development one generated
/// into the data directory and kept there, so hashes survive restarts.
fn discovery_key(config: &Config, platform: &Platform) -> Result<String, PlatformError> {
    platform.secret(
        &chatflow_platform::SecretSpec {
            setting: "services.profile.discovery.key",
            env: "CHATFLOW_SERVICES__PROFILE__DISCOVERY__KEY",
            expects: "base64 of at least 32 random bytes",
            file: KEY_FILE,
        },
        config.discovery.key.as_ref(),
        DiscoveryKey::generate_base64,
        |key| {
            DiscoveryKey::from_base64(key)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
}

/// A flag cache fed from the config service for live rate-limit policies,
/// best effort: while it cannot be reached the configured policy applies.
/// `flags_url = ""` turns live policies off.
fn watch_flags(config: &Config, platform: &Platform) -> Result<Option<FlagCache>, PlatformError> {
    if config.flags_url.as_deref() == Some("") {
        return Ok(None);
    }
    let source = platform.flag_source(NAME, config.flags_url.as_deref())?;
    let cache = FlagCache::new();
    // The watcher task ends with the platform's shutdown token.
    let _watcher = FlagWatcher::spawn(source, cache.clone(), platform.shutdown().token());
    Ok(Some(cache))
}
