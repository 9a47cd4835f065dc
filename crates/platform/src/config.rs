//! The platform's own configuration: data directory, backends, telemetry.
//!
//! Loaded in layers by `chatflow_runtime::config::load` (defaults → TOML file
//! → `CHATFLOW_*` env → flags). Each service's section lives under
//! `services.<name>` and is decoded by the service itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chatflow_runtime::telemetry::TelemetryConfig;
use serde::{Deserialize, Serialize};

use crate::PlatformError;

/// Everything the `chatflow` binaries read from configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
// No deny_unknown_fields: the loader rejects unknown file keys itself and
// ignores unknown `CHATFLOW_*` env vars (such as CHATFLOW_CONFIG_FILE).
#[serde(default)]
pub struct PlatformConfig {
    /// Where embedded backends keep their files.
    pub data_dir: PathBuf,
    /// Refuse embedded backends and development conveniences.
    pub production: bool,
    /// Address of the ops server (`/healthz`, `/readyz`, `/metrics`).
    pub ops_addr: String,
    /// How long shutdown waits for connections and consumers to drain.
    pub drain_deadline_secs: u64,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// Backend URLs; unset means embedded.
    pub backends: BackendsConfig,
    /// Per-service sections, decoded by each service.
    pub services: BTreeMap<String, serde_json::Value>,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            production: false,
            ops_addr: "127.0.0.1:9000".to_owned(),
            drain_deadline_secs: 20,
            telemetry: TelemetryConfig::default(),
            backends: BackendsConfig::default(),
            services: BTreeMap::new(),
        }
    }
}

/// Backend URLs. `None` selects the embedded implementation under `data_dir`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackendsConfig {
    /// `kafka://host:9092`, `memory://` or `sqlite://path`.
    pub bus_url: Option<String>,
    /// `postgres://…` (one schema per service) or `sqlite://dir/` (one file per service).
    pub sql_url: Option<String>,
    /// `redis://host:6379` or `memory://` (in-process, lost on exit).
    pub cache_url: Option<String>,
    /// `dynamodb://host:port`, `dynamodb://` (AWS) or `sqlite://path` for the message and event store.
    pub kv_url: Option<String>,
    /// `s3://bucket` or `file://dir` for blobs.
    pub blob_url: Option<String>,
    /// Prepended to every schema name, so several fleets (or tests) share a database.
    pub schema_prefix: String,
    /// Prepended to every topic and consumer group.
    pub topic_prefix: Option<String>,
    /// Prepended to every cache key.
    pub cache_prefix: Option<String>,
    /// Prepended to every message/event store table.
    pub table_prefix: String,
}

impl PlatformConfig {
    /// The event bus URL to use, embedded when unset.
    pub fn bus_url(&self) -> String {
        self.backends
            .bus_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("bus.db").display()))
    }

    /// The cache URL to use, in-process when unset.
    pub fn cache_url(&self) -> String {
        self.backends
            .cache_url
            .clone()
            .unwrap_or_else(|| "memory://".to_owned())
    }

    /// The message/event store URL, a SQLite file under `data_dir` when unset.
    pub fn kv_url(&self) -> String {
        self.backends
            .kv_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("kv.db").display()))
    }

    /// The blob store URL, a directory under `data_dir` when unset.
    pub fn blob_url(&self) -> String {
        self.backends
            .blob_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("blobs").display()))
    }

    /// The relational store URL for one service.
    pub fn sql_url_for(&self, service: &str) -> String {
        match &self.backends.sql_url {
            Some(url) if url.starts_with("sqlite:") => {
                let dir = url.trim_start_matches("sqlite:").trim_start_matches("//");
                format!(
                    "sqlite://{}",
                    PathBuf::from(dir).join(format!("{service}.db")).display()
                )
            }
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join(format!("{service}.db")).display()
            ),
        }
    }

    /// In production every backend must be a real server; names the first that is not.
    pub fn check_production(&self) -> Result<(), PlatformError> {
        if !self.production {
            return Ok(());
        }
        let embedded = |url: &Option<String>| match url {
            None => true,
            Some(u) => u.starts_with("memory:") || u.starts_with("sqlite:"),
        };
        if embedded(&self.backends.bus_url) {
            return Err(PlatformError::Config(
                "--production refuses the embedded event bus: set backends.bus_url \
                 (CHATFLOW_BACKENDS__BUS_URL or --bus-url) to kafka://…"
                    .to_owned(),
            ));
        }
        if embedded(&self.backends.sql_url) {
            return Err(PlatformError::Config(
                "--production refuses the embedded relational store: set backends.sql_url \
                 (CHATFLOW_BACKENDS__SQL_URL or --sql-url) to postgres://…"
                    .to_owned(),
            ));
        }
        let in_process =
            |url: &Option<String>| url.as_deref().is_none_or(|u| u.starts_with("memory:"));
        if in_process(&self.backends.cache_url) {
            return Err(PlatformError::Config(
                "--production refuses the in-process cache: set backends.cache_url \
                 (CHATFLOW_BACKENDS__CACHE_URL or --cache-url) to redis://…"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_live_under_the_data_dir() {
        let cfg = PlatformConfig {
            data_dir: "/tmp/x".into(),
            ..Default::default()
        };
        assert_eq!(cfg.bus_url(), "sqlite:///tmp/x/bus.db");
        assert_eq!(cfg.sql_url_for("config"), "sqlite:///tmp/x/config.db");
    }

    #[test]
    fn production_names_the_embedded_backend() {
        let mut cfg = PlatformConfig {
            production: true,
            ..Default::default()
        };
        let err = cfg.check_production().unwrap_err().to_string();
        assert!(err.contains("event bus"), "{err}");
        cfg.backends.bus_url = Some("kafka://k:9092".into());
        let err = cfg.check_production().unwrap_err().to_string();
        assert!(err.contains("relational store"), "{err}");
        cfg.backends.sql_url = Some("postgres://db/chatflow".into());
        let err = cfg.check_production().unwrap_err().to_string();
        assert!(err.contains("cache"), "{err}");
        cfg.backends.cache_url = Some("redis://cache:6379".into());
        assert!(cfg.check_production().is_ok());
    }

    #[test]
    fn sqlite_sql_url_is_a_directory_of_files() {
        let cfg = PlatformConfig {
            backends: BackendsConfig {
                sql_url: Some("sqlite://var/db".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(cfg.sql_url_for("auth"), "sqlite://var/db/auth.db");
    }
}
