//! Plugs the rate-limit service into the platform (`chatflow up`, `chatflow-rate-limit`).

use async_trait::async_trait;
use chatflow_config_client::{FlagWatcher, GrpcFlagSource};
use chatflow_flags::FlagCache;
use chatflow_platform::{Endpoint, Platform, PlatformError, ServiceLauncher};

use crate::{Config, Deps, Listeners, RateLimitService};

const NAME: &str = "rate-limit";
/// The config service's default gRPC address, used when neither
/// `services.rate-limit.flags_url` nor `services.config.grpc_addr` is set.
const CONFIG_GRPC_DEFAULT: &str = "127.0.0.1:7081";

/// Starts the rate-limit service on a platform.
pub struct RateLimitLauncher;

#[async_trait]
impl ServiceLauncher for RateLimitLauncher {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError> {
        let config: Config = platform.service_config(NAME)?;
        let grpc_addr = config.grpc_addr.clone();
        let flags = watch_flags(&config, platform);
        let deps = Deps {
            cache: platform.cache().clone(),
            flags,
        };
        let service =
            RateLimitService::build(config, deps).map_err(|e| PlatformError::service(NAME, e))?;
        let grpc = chatflow_runtime::serve::bind(&grpc_addr)
            .await
            .map_err(|e| PlatformError::Bind {
                addr: grpc_addr.clone(),
                reason: e.to_string(),
            })?;
        let url = grpc
            .local_addr()
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        let token = platform.shutdown().token();
        platform
            .shutdown()
            .spawn(NAME, service.run(Listeners { grpc }, token));
        Ok(vec![Endpoint {
            service: NAME,
            protocol: "grpc",
            url,
        }])
    }
}

/// A flag cache fed from the config service, best effort: while it cannot be
/// reached the watcher retries with backoff and file policies apply.
fn watch_flags(config: &Config, platform: &Platform) -> Option<FlagCache> {
    let url = match &config.flags_url {
        Some(url) if url.is_empty() => return None,
        Some(url) => url.clone(),
        None => {
            let addr = platform
                .config()
                .services
                .get("config")
                .and_then(|section| section.get("grpc_addr"))
                .and_then(|addr| addr.as_str())
                .unwrap_or(CONFIG_GRPC_DEFAULT);
            format!("http://{addr}")
        }
    };
    let source = match GrpcFlagSource::connect_lazy(&url) {
        Ok(source) => source,
        Err(error) => {
            tracing::warn!(%url, %error, "no live rate-limit policies: bad config service url");
            return None;
        }
    };
    let cache = FlagCache::new();
    // The watcher task ends with the platform's shutdown token.
    let _watcher = FlagWatcher::spawn(
        std::sync::Arc::new(source),
        cache.clone(),
        platform.shutdown().token(),
    );
    tracing::info!(%url, "following rate-limit policy flags");
    Some(cache)
}
