//! Fresh, isolated backends for tests (the `spawn_app()` habit).
//!
//! [`TestBackends::embedded`] gives a SQLite file in a temporary directory
//! and an in-memory bus; [`TestBackends::real`] gives a new PostgreSQL schema
//! and a unique Kafka topic prefix on the servers `scripts/test.sh` starts.
//! Either way no two tests share state, so they run in parallel.

#![allow(clippy::unwrap_used)]

pub mod server;
pub mod tokens;
pub mod ws;

use chatflow_events::{BusOptions, EventBusRef};
use chatflow_sql::{SqlOptions, SqlStore};

/// Which family of backends a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// SQLite and the in-process bus: what `chatflow up` uses.
    Embedded,
    /// PostgreSQL and Kafka: what production uses.
    Real,
}

/// A test's own relational store and bus; dropping it removes temp files.
pub struct TestBackends {
    /// Which family this is.
    pub kind: BackendKind,
    /// A store nobody else uses.
    pub sql: SqlStore,
    /// A bus (or bus namespace) nobody else uses.
    pub bus: EventBusRef,
    /// The unique name of this fixture (schema and topic prefix).
    pub unique: String,
    /// Keeps embedded files alive for the test's duration.
    pub dir: tempfile::TempDir,
}

impl TestBackends {
    /// Backends of `kind`, fresh and isolated.
    pub async fn new(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Embedded => Self::embedded().await,
            BackendKind::Real => Self::real().await,
        }
    }

    /// A SQLite file in a temp dir and an in-memory bus.
    pub async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let unique = unique_name();
        let url = format!("sqlite://{}", dir.path().join("svc.db").display());
        let sql = SqlStore::connect(&url, SqlOptions::for_schema(&unique))
            .await
            .unwrap();
        let bus = chatflow_events::connect("memory://", BusOptions::default())
            .await
            .unwrap();
        Self {
            kind: BackendKind::Embedded,
            sql,
            bus,
            unique,
            dir,
        }
    }

    /// A fresh PostgreSQL schema and a unique topic prefix on Kafka.
    pub async fn real() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let unique = unique_name();
        let sql = SqlStore::connect(&postgres_url(), SqlOptions::for_schema(&unique))
            .await
            .expect("PostgreSQL must be running (scripts/test.sh starts it)");
        let options = BusOptions {
            topic_prefix: Some(format!("{unique}.")),
            ..BusOptions::default()
        };
        let bus = chatflow_events::connect(&kafka_url(), options)
            .await
            .expect("Kafka must be reachable and the `kafka` feature enabled (scripts/test.sh does both)");
        Self {
            kind: BackendKind::Real,
            sql,
            bus,
            unique,
            dir,
        }
    }

    /// A cache nobody else uses: in-process when embedded, Redis (keys
    /// prefixed with this fixture's unique name) when real. Each call is a
    /// new handle; handles of one fixture share data only on Redis.
    pub async fn cache(&self) -> chatflow_cache::CacheRef {
        let url = match self.kind {
            BackendKind::Embedded => "memory://".to_owned(),
            BackendKind::Real => redis_url(),
        };
        let options = chatflow_cache::CacheOptions {
            key_prefix: Some(format!("{}:", self.unique)),
            ..chatflow_cache::CacheOptions::default()
        };
        chatflow_cache::connect(&url, options)
            .await
            .expect("Redis must be running (scripts/test.sh starts it)")
    }

    /// A short label for test output: `embedded` or `real`.
    pub fn label(&self) -> &'static str {
        match self.kind {
            BackendKind::Embedded => "embedded",
            BackendKind::Real => "real",
        }
    }
}

/// `t_` plus a random suffix: a valid schema name and topic prefix.
pub fn unique_name() -> String {
    format!("t_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// The PostgreSQL the suite uses (`CHATFLOW_TEST_POSTGRES_URL`).
pub fn postgres_url() -> String {
    std::env::var("CHATFLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The Redis the suite uses (`CHATFLOW_TEST_REDIS_URL`).
pub fn redis_url() -> String {
    std::env::var("CHATFLOW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The Kafka-compatible broker the suite uses (`CHATFLOW_TEST_KAFKA_URL`).
pub fn kafka_url() -> String {
    std::env::var("CHATFLOW_TEST_KAFKA_URL").unwrap_or_else(|_| "kafka://127.0.0.1:9092".to_owned())
}
