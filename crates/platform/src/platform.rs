//! [`Platform`]: the shared handles services are built from.

use std::path::Path;
use std::sync::Arc;

use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::{BusOptions, EventBusRef};
use chatflow_runtime::{Health, Shutdown};
use chatflow_sql::{SqlOptions, SqlStore};
use serde::de::DeserializeOwned;

use crate::{PlatformConfig, PlatformError};

/// Backends, health and shutdown for the services of one process; cheap to clone.
#[derive(Clone)]
pub struct Platform {
    config: Arc<PlatformConfig>,
    bus: EventBusRef,
    cache: CacheRef,
    health: Health,
    shutdown: Shutdown,
}

impl Platform {
    /// Connects the shared backends named by `config` (embedded when unset)
    /// and registers their readiness checks on `health`.
    pub async fn connect(
        config: PlatformConfig,
        health: Health,
        shutdown: Shutdown,
    ) -> Result<Self, PlatformError> {
        config.check_production()?;
        if config.backends.bus_url.is_none() || config.backends.sql_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                PlatformError::Config(format!(
                    "cannot create data directory {}: {e}",
                    config.data_dir.display()
                ))
            })?;
        }
        let bus_url = config.bus_url();
        let options = BusOptions {
            topic_prefix: config.backends.topic_prefix.clone(),
            ..BusOptions::default()
        };
        let bus = chatflow_events::connect(&bus_url, options)
            .await
            .map_err(|e| PlatformError::Backend {
                backend: "event bus",
                reason: e.to_string(),
            })?;
        let probe = bus.clone();
        health.add_check("event_bus", move || {
            let probe = probe.clone();
            async move { probe.ping().await.map_err(|e| e.to_string()) }
        });
        tracing::info!(backend = bus.backend(), "event bus connected");
        // One cache handle per process: in-process pub/sub only reaches
        // subscribers of the same handle.
        let cache = chatflow_cache::connect(&config.cache_url(), CacheOptions::default())
            .await
            .map_err(|e| PlatformError::Backend {
                backend: "cache",
                reason: e.to_string(),
            })?;
        let probe = cache.clone();
        health.add_check("cache", move || {
            let probe = probe.clone();
            async move { probe.ping().await.map_err(|e| e.to_string()) }
        });
        Ok(Self {
            config: Arc::new(config),
            bus,
            cache,
            health,
            shutdown,
        })
    }

    /// The shared event bus.
    pub fn bus(&self) -> &EventBusRef {
        &self.bus
    }

    /// The shared cache (presence, registries, rate limits, revocation lists).
    pub fn cache(&self) -> &CacheRef {
        &self.cache
    }

    /// Readiness of this process; services add their checks and say when ready.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The process-wide shutdown signal and task tracker.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The loaded configuration.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    /// Whether development conveniences are off.
    pub fn production(&self) -> bool {
        self.config.production
    }

    /// Where embedded backends and dev-only files live.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The relational store of `service`: its own PostgreSQL schema or SQLite file.
    pub async fn sql(&self, service: &'static str) -> Result<SqlStore, PlatformError> {
        let url = self.config.sql_url_for(service);
        let schema = format!(
            "{}{}",
            self.config.backends.schema_prefix,
            service.replace('-', "_")
        );
        let store = SqlStore::connect(&url, SqlOptions::for_schema(schema))
            .await
            .map_err(|e| PlatformError::Backend {
                backend: "relational store",
                reason: e.to_string(),
            })?;
        let probe = store.clone();
        self.health.add_check(service_check_name(service), move || {
            let probe = probe.clone();
            async move { probe.ping().await.map_err(|e| e.to_string()) }
        });
        Ok(store)
    }

    /// Decodes the `services.<service>` section, or the defaults when absent.
    pub fn service_config<T: DeserializeOwned + Default>(
        &self,
        service: &str,
    ) -> Result<T, PlatformError> {
        match self.config.services.get(service) {
            None => Ok(T::default()),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|e| PlatformError::Config(format!("services.{service}: {e}"))),
        }
    }
}

/// Readiness check names are `&'static str`. A store is opened once per
/// service and process, so leaking its short name is bounded.
fn service_check_name(service: &'static str) -> &'static str {
    Box::leak(format!("sql:{service}").into_boxed_str())
}
