//! Plugs the config service into the platform (`chatflow up`, `chatflow serve config`).

use async_trait::async_trait;
use chatflow_platform::{ConfigFlags, Endpoint, Platform, PlatformError, ServiceLauncher};

use crate::{Config, ConfigService, Deps, FLAG_CHANGED_TOPIC, Listeners};

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
            http: bind(&config.http_addr).await?,
            grpc: bind(&config.grpc_addr).await?,
        };
        let endpoints = vec![
            endpoint("http", &listeners.http, "http"),
            endpoint("grpc", &listeners.grpc, "http"),
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

/// The configured admin token; in development a generated one kept in the
/// data directory (so it survives restarts). Production requires one.
fn admin_token(config: &Config, platform: &Platform) -> Result<String, PlatformError> {
    if let Some(token) = &config.admin_token {
        if token.expose().len() < 16 {
            return Err(PlatformError::Config(
                "services.config.admin_token must be at least 16 characters".into(),
            ));
        }
        return Ok(token.expose().clone());
    }
    if platform.production() {
        return Err(PlatformError::Config(
            "--production requires services.config.admin_token (CHATFLOW_SERVICES__CONFIG__ADMIN_TOKEN)".into(),
        ));
    }
    let path = platform.data_dir().join("operator-token");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(existing.trim().to_owned());
    }
    let token: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    std::fs::create_dir_all(platform.data_dir())
        .and_then(|()| std::fs::write(&path, &token))
        .map_err(|e| PlatformError::Config(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "config: generated a development operator token in {}",
        path.display()
    );
    Ok(token)
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener, PlatformError> {
    chatflow_runtime::serve::bind(addr)
        .await
        .map_err(|e| PlatformError::Bind {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })
}

fn endpoint(protocol: &'static str, listener: &tokio::net::TcpListener, scheme: &str) -> Endpoint {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    Endpoint {
        service: NAME,
        protocol,
        url: format!("{scheme}://{addr}"),
    }
}
