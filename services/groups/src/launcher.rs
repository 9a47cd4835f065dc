//! Plugs the groups service into the platform (`chatflow up`, `chatflow-groups`).

use async_trait::async_trait;
use chatflow_authn::ServiceIdentity;
use chatflow_groups_client::LocalGroups;
use chatflow_platform::{Endpoint, Platform, PlatformError, ServiceLauncher};
use chatflow_runtime::Secret;

use crate::invite::InviteKey;
use crate::{Config, Deps, GroupsService, Listeners};

const NAME: &str = "groups";
/// The development invite key file in the data directory.
const INVITE_KEY_FILE: &str = "groups-invite-key";
/// The fleet's development internal secret in the data directory, shared by
/// every service that signs or checks service identities.
pub const INTERNAL_SECRET_FILE: &str = "internal-secret";

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
        let secret = Secret::new(internal_secret(&config, platform)?);
        let identity = ServiceIdentity::new(NAME, &secret)
            .map_err(|e| PlatformError::Config(format!("services.groups.internal_secret: {e}")))?;
        let deps = Deps {
            sql: platform.sql(NAME).await?,
            bus: platform.bus().clone(),
            verifier: platform.token_verifier(NAME, &config.auth)?,
            identity,
        };
        let listeners = Listeners {
            http: bind(&config.http_addr).await?,
            grpc: bind(&config.grpc_addr).await?,
        };
        let service = GroupsService::build(config, deps)
            .await
            .map_err(|e| PlatformError::service(NAME, e))?;
        // The router and gateway in this process ask the service directly.
        platform.handles().publish(LocalGroups(service.client()));
        let endpoints = vec![
            endpoint("http", &listeners.http),
            endpoint("grpc", &listeners.grpc),
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
    let invalid =
        |e: crate::GroupsError| PlatformError::Config(format!("services.groups.invite_key: {e}"));
    if let Some(key) = &config.invite_key {
        InviteKey::from_base64(key.expose()).map_err(invalid)?;
        return Ok(key.expose().trim().to_owned());
    }
    if platform.production() {
        return Err(PlatformError::Config(
            "--production requires services.groups.invite_key: base64 of at least 32 random bytes \
             (CHATFLOW_SERVICES__GROUPS__INVITE_KEY)"
                .into(),
        ));
    }
    let key = dev_file(platform, INVITE_KEY_FILE, InviteKey::generate_base64)?;
    InviteKey::from_base64(&key).map_err(invalid)?;
    Ok(key)
}

/// The configured internal secret; in development the fleet's shared file.
fn internal_secret(config: &Config, platform: &Platform) -> Result<String, PlatformError> {
    if let Some(secret) = &config.internal_secret {
        return Ok(secret.expose().clone());
    }
    if platform.production() {
        return Err(PlatformError::Config(
            "--production requires services.groups.internal_secret: at least 32 random bytes \
             shared by the fleet (CHATFLOW_SERVICES__GROUPS__INTERNAL_SECRET)"
                .into(),
        ));
    }
    dev_file(platform, INTERNAL_SECRET_FILE, || {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// The trimmed content of `<data_dir>/<name>`, created with `generate()` if absent.
fn dev_file(
    platform: &Platform,
    name: &str,
    generate: impl FnOnce() -> String,
) -> Result<String, PlatformError> {
    let path = platform.data_dir().join(name);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(existing.trim().to_owned());
    }
    let value = generate();
    std::fs::create_dir_all(platform.data_dir())
        .and_then(|()| std::fs::write(&path, &value))
        .map_err(|e| PlatformError::Config(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "groups: generated a development {name} in {}",
        path.display()
    );
    Ok(value)
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener, PlatformError> {
    chatflow_runtime::serve::bind(addr)
        .await
        .map_err(|e| PlatformError::Bind {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })
}

fn endpoint(protocol: &'static str, listener: &tokio::net::TcpListener) -> Endpoint {
    let url = listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    Endpoint {
        service: NAME,
        protocol,
        url,
    }
}
