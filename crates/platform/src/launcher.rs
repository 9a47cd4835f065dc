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
