//! [`Platform`]: the shared handles services are built from.

use std::path::Path;
use std::sync::Arc;

use chatflow_blobs::{BlobOptions, BlobStoreRef};
use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::{BusOptions, EventBusRef};
use chatflow_kv::{KvOptions, KvStoreRef};
use chatflow_runtime::{Health, Shutdown};
use chatflow_sql::{SqlOptions, SqlStore};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::{Handles, PlatformConfig, PlatformError};

/// Backends, health and shutdown for the services of one process; cheap to clone.
#[derive(Clone)]
pub struct Platform {
    config: Arc<PlatformConfig>,
    bus: EventBusRef,
    cache: CacheRef,
    kv: Arc<OnceCell<KvStoreRef>>,
    blobs: Arc<OnceCell<BlobStoreRef>>,
    health: Health,
    shutdown: Shutdown,
    handles: Handles,
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
        let cache_options = CacheOptions {
            key_prefix: config.backends.cache_prefix.clone(),
            ..CacheOptions::default()
        };
        let cache = chatflow_cache::connect(&config.cache_url(), cache_options)
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
            kv: Arc::default(),
            blobs: Arc::default(),
            health,
            shutdown,
            handles: Handles::default(),
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

    /// The message and event store, connected on first use (most services
    /// never need it). In production an embedded URL is refused here.
    pub async fn kv(&self) -> Result<KvStoreRef, PlatformError> {
        let url = self.config.kv_url();
        self.refuse_embedded_in_production(
            "message/event store (backends.kv_url)",
            &url,
            "sqlite:",
        )?;
        let store = self
            .kv
            .get_or_try_init(|| async {
                let options = KvOptions {
                    table_prefix: self.config.backends.table_prefix.clone(),
                    ..KvOptions::default()
                };
                chatflow_kv::connect(&url, options)
                    .await
                    .map_err(|e| PlatformError::Backend {
                        backend: "message/event store",
                        reason: e.to_string(),
                    })
            })
            .await?;
        Ok(store.clone())
    }

    /// The blob store, connected on first use. In production an embedded URL is refused here.
    pub async fn blobs(&self) -> Result<BlobStoreRef, PlatformError> {
        let url = self.config.blob_url();
        self.refuse_embedded_in_production("blob store (backends.blob_url)", &url, "file:")?;
        let store = self
            .blobs
            .get_or_try_init(|| async {
                let store = chatflow_blobs::connect(&url, BlobOptions::default())
                    .await
                    .map_err(|e| PlatformError::Backend {
                        backend: "blob store",
                        reason: e.to_string(),
                    })?;
                store
                    .ensure_bucket()
                    .await
                    .map_err(|e| PlatformError::Backend {
                        backend: "blob store",
                        reason: e.to_string(),
                    })?;
                Ok::<_, PlatformError>(store)
            })
            .await?;
        Ok(store.clone())
    }

    fn refuse_embedded_in_production(
        &self,
        what: &str,
        url: &str,
        scheme: &str,
    ) -> Result<(), PlatformError> {
        if self.config.production && url.starts_with(scheme) {
            return Err(PlatformError::Config(format!(
                "--production refuses the embedded {what}: {url}"
            )));
        }
        Ok(())
    }

    /// Readiness of this process; services add their checks and say when ready.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Handles services offer each other in this process (all-in-one mode).
    pub fn handles(&self) -> &Handles {
        &self.handles
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
    /// `rate-limit` is also found as `rate_limit`, the spelling environment
    /// variables allow (`CHATFLOW_SERVICES__RATE_LIMIT__GRPC_ADDR`).
    /// Decoding is as lenient as the rest of the configuration: a value set
    /// by an environment variable is a string, and `"1"` fills a number.
    pub fn service_config<T: DeserializeOwned + Default>(
        &self,
        service: &str,
    ) -> Result<T, PlatformError> {
        let services = &self.config.services;
        let section = services
            .get(service)
            .or_else(|| services.get(&service.replace('-', "_")));
        match section {
            None => Ok(T::default()),
            Some(value) => figment::Figment::from(figment::providers::Serialized::defaults(value))
                .extract_lossy()
                .map_err(|e| PlatformError::Config(format!("services.{service}: {e}"))),
        }
    }
}

/// Readiness check names are `&'static str`. A store is opened once per
/// service and process, so leaking its short name is bounded.
fn service_check_name(service: &'static str) -> &'static str {
    Box::leak(format!("sql:{service}").into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn platform(config: PlatformConfig) -> Result<Platform, PlatformError> {
        Platform::connect(config, Health::new(), Shutdown::new()).await
    }

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Section {
        deadline_secs: u64,
        on: bool,
    }

    #[tokio::test]
    async fn service_sections_take_numbers_and_flags_given_as_strings() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = PlatformConfig {
            data_dir: dir.path().to_owned(),
            ..Default::default()
        };
        let section = serde_json::json!({"deadline_secs": "1", "on": "true"});
        config.services.insert("some_service".into(), section);
        config
            .services
            .insert("bad".into(), serde_json::json!({"surprise": 1}));
        let platform = platform(config).await.unwrap();
        let decoded: Section = platform.service_config("some-service").unwrap();
        assert_eq!(
            decoded,
            Section {
                deadline_secs: 1,
                on: true
            }
        );
        let err = platform
            .service_config::<Section>("bad")
            .unwrap_err()
            .to_string();
        assert!(err.contains("surprise"), "{err}");
    }

    #[tokio::test]
    async fn embedded_stores_are_connected_lazily_under_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let config = PlatformConfig {
            data_dir: dir.path().to_owned(),
            ..Default::default()
        };
        let platform = platform(config).await.unwrap();
        assert!(
            !dir.path().join("kv.db").exists(),
            "kv connected before first use"
        );

        let kv = platform.kv().await.unwrap();
        kv.ensure_tables(&[chatflow_kv::TableSpec::new("probe")])
            .await
            .unwrap();
        let item = chatflow_kv::Item::new("p", "s", bytes::Bytes::from_static(b"v"));
        kv.put("probe", item, chatflow_kv::Condition::IfAbsent)
            .await
            .unwrap();
        assert!(kv.get("probe", "p", "s").await.unwrap().is_some());
        assert!(dir.path().join("kv.db").exists());

        let blobs = platform.blobs().await.unwrap();
        blobs
            .put("a/b", bytes::Bytes::from_static(b"x"), Default::default())
            .await
            .unwrap();
        assert_eq!(blobs.get("a/b", None).await.unwrap().bytes.as_ref(), b"x");
        // The same handle is shared by every caller in the process.
        assert!(Arc::ptr_eq(&kv, &platform.kv().await.unwrap()));
    }

    // Production needs a real bus URL, which needs the Kafka client.
    #[cfg(feature = "kafka")]
    #[tokio::test]
    async fn production_refuses_embedded_stores_on_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let config = PlatformConfig {
            data_dir: dir.path().to_owned(),
            production: true,
            backends: crate::BackendsConfig {
                bus_url: Some("kafka://127.0.0.1:1".into()),
                sql_url: Some("postgres://postgres@127.0.0.1:1/x".into()),
                cache_url: Some(
                    std::env::var("CHATFLOW_TEST_REDIS_URL")
                        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
                ),
                ..Default::default()
            },
            ..Default::default()
        };
        let platform = platform(config).await.unwrap();
        let err = platform.kv().await.err().unwrap().to_string();
        assert!(
            err.contains("--production refuses the embedded message/event store"),
            "{err}"
        );
        let err = platform.blobs().await.err().unwrap().to_string();
        assert!(
            err.contains("--production refuses the embedded blob store"),
            "{err}"
        );
    }
}
