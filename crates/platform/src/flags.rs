//! Flag sources for services that follow feature flags.
//!
//! With an explicit URL a service reads the config service over gRPC. Without
//! one it uses the config service in this process when there is one (through
//! [`crate::Handles`], looked up at each call so launch order does not
//! matter) and otherwise the config service at the fleet's configured
//! `services.config.grpc_addr`.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_config_client::{ClientError, FlagSource, FlagSourceRef, GrpcFlagSource, WatchStream};
use chatflow_flags::{Evaluation, EvaluationContext};

use crate::{Handles, Platform, PlatformError};

/// The config service's flags as published by it in this process.
#[derive(Clone)]
pub struct ConfigFlags(pub FlagSourceRef);

/// The config service's default gRPC address.
const CONFIG_GRPC_DEFAULT: &str = "127.0.0.1:7081";

impl Platform {
    /// The flag source for `service`: `url` when given, else the in-process
    /// config service, else the fleet's configured config address.
    pub fn flag_source(
        &self,
        service: &str,
        url: Option<&str>,
    ) -> Result<FlagSourceRef, PlatformError> {
        let remote = |url: &str| {
            GrpcFlagSource::connect_lazy(url)
                .map_err(|e| PlatformError::Config(format!("services.{service}: {e}")))
        };
        if let Some(url) = url {
            return Ok(Arc::new(remote(url)?));
        }
        let addr = self
            .config()
            .services
            .get("config")
            .and_then(|section| section.get("grpc_addr"))
            .and_then(|addr| addr.as_str())
            .unwrap_or(CONFIG_GRPC_DEFAULT);
        Ok(Arc::new(LocalOrRemote {
            handles: self.handles().clone(),
            remote: remote(&format!("http://{addr}"))?,
        }))
    }
}

/// The in-process config service if one published itself, else `remote`.
struct LocalOrRemote {
    handles: Handles,
    remote: GrpcFlagSource,
}

impl LocalOrRemote {
    fn local(&self) -> Option<FlagSourceRef> {
        self.handles.get::<ConfigFlags>().map(|ConfigFlags(s)| s)
    }
}

#[async_trait]
impl FlagSource for LocalOrRemote {
    async fn evaluate(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> Result<(Evaluation, u64), ClientError> {
        match self.local() {
            Some(local) => local.evaluate(key, ctx).await,
            None => self.remote.evaluate(key, ctx).await,
        }
    }

    async fn watch(&self) -> Result<WatchStream, ClientError> {
        match self.local() {
            Some(local) => local.watch().await,
            None => self.remote.watch().await,
        }
    }
}
