//! How a service plugs into the platform.

use async_trait::async_trait;

use crate::{Platform, PlatformError};

/// A URL a started service serves, printed at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The service that serves it.
    pub service: &'static str,
    /// What it is: `http`, `grpc`, `ws`...
    pub protocol: &'static str,
    /// Where to connect.
    pub url: String,
}

impl Endpoint {
    /// `<scheme>://<bound address><path>` of `listener`, e.g. an HTTP or gRPC
    /// server (`"http"`, `""`) or a WebSocket (`"ws"`, `"/v1/ws"`).
    pub fn of(
        service: &'static str,
        protocol: &'static str,
        listener: &tokio::net::TcpListener,
        scheme: &str,
        path: &str,
    ) -> Self {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".to_owned());
        Self {
            service,
            protocol,
            url: format!("{scheme}://{addr}{path}"),
        }
    }
}

/// Binds a service's listener, naming the address in the error.
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, PlatformError> {
    chatflow_runtime::serve::bind(addr)
        .await
        .map_err(|e| PlatformError::Bind {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })
}

/// Starts one service on a [`Platform`]: one implementation per service crate.
#[async_trait]
pub trait ServiceLauncher: Send + Sync {
    /// The service's name, as used in `chatflow serve <name>` and config sections.
    fn name(&self) -> &'static str;

    /// Builds the service from the platform's backends and its config section,
    /// binds its listeners, spawns it on the platform's shutdown tracker and
    /// returns where it serves. Readiness is the service's to declare.
    async fn launch(&self, platform: &Platform) -> Result<Vec<Endpoint>, PlatformError>;
}
