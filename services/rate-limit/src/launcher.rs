//! Plugs the rate-limit service into the platform (`chatflow up`, `chatflow-rate-limit`).

use async_trait::async_trait;
use chatflow_config_client::FlagWatcher;
use chatflow_flags::FlagCache;
use chatflow_platform::{Endpoint, Platform, PlatformError, ServiceLauncher};

use crate::{Config, Deps, Listeners, RateLimitService};

const NAME: &str = "rate-limit";

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
        let flags = watch_flags(&config, platform)?;
        let deps = Deps {
            cache: platform.cache().clone(),
            flags,
        };
        let service =
            RateLimitService::build(config, deps).map_err(|e| PlatformError::service(NAME, e))?;
        let grpc = chatflow_platform::bind(&grpc_addr).await?;
        let endpoint = Endpoint::of(NAME, "grpc", &grpc, "http", "");
        let token = platform.shutdown().token();
        platform
            .shutdown()
            .spawn(NAME, service.run(Listeners { grpc }, token));
        Ok(vec![endpoint])
    }
}

/// A flag cache fed from the config service, best effort: while it cannot be
/// reached the watcher retries with backoff and file policies apply.
/// `flags_url = ""` turns live policies off.
fn watch_flags(config: &Config, platform: &Platform) -> Result<Option<FlagCache>, PlatformError> {
    if config.flags_url.as_deref() == Some("") {
        return Ok(None);
    }
    let source = platform.flag_source(NAME, config.flags_url.as_deref())?;
    let cache = FlagCache::new();
    // The watcher task ends with the platform's shutdown token.
    let _watcher = FlagWatcher::spawn(source, cache.clone(), platform.shutdown().token());
    tracing::info!("following rate-limit policy flags");
    Ok(Some(cache))
}
