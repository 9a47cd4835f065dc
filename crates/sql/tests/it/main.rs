//! Contract suite of the relational port, run against PostgreSQL and SQLite.
//!
//! Every test is written once in [`contract`] and instantiated per backend, so
//! the test names say which backend ran: `postgres::unique_violation_is_already_exists`.
#![allow(clippy::unwrap_used, missing_docs)]

mod contract;

use std::time::Duration;

use chatflow_sql::{Migrations, SqlOptions, SqlStore};
use sqlx::migrate::Migrator;

static PG_MIGRATIONS: Migrator = sqlx::migrate!("tests/migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("tests/migrations/sqlite");

/// The migrations every contract test runs against its fresh store.
pub fn test_migrations() -> Migrations {
    Migrations {
        postgres: &PG_MIGRATIONS,
        sqlite: &SQLITE_MIGRATIONS,
    }
}

/// A fresh store plus whatever keeps it alive (a temp dir for SQLite).
pub struct Fixture {
    pub store: SqlStore,
    pub _guard: Option<tempfile::TempDir>,
}

/// Options used by the suite: short timeouts so failure cases are quick.
pub fn options(schema: &str) -> SqlOptions {
    SqlOptions {
        acquire_timeout: Duration::from_secs(3),
        ..SqlOptions::for_schema(schema)
    }
}

pub fn postgres_url() -> String {
    std::env::var("CHATFLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

pub async fn postgres_fixture() -> Fixture {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let store = SqlStore::connect(&postgres_url(), options(&schema))
        .await
        .expect("PostgreSQL must be running for the contract suite (scripts/test.sh starts it)");
    store.migrate(&test_migrations()).await.unwrap();
    Fixture {
        store,
        _guard: None,
    }
}

pub async fn sqlite_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/store.db").display());
    let store = SqlStore::connect(&url, options("ignored")).await.unwrap();
    store.migrate(&test_migrations()).await.unwrap();
    Fixture {
        store,
        _guard: Some(dir),
    }
}

/// Where nothing listens: connecting must fail fast and typed.
pub fn unreachable_url(dialect: &str) -> String {
    match dialect {
        // A file where a directory is expected can never be opened.
        "sqlite" => "sqlite:///dev/null/store.db".to_owned(),
        _ => "postgres://postgres@127.0.0.1:1/test".to_owned(),
    }
}

mod postgres {
    crate::contract_suite!(crate::postgres_fixture, "postgres");
}

mod sqlite {
    crate::contract_suite!(crate::sqlite_fixture, "sqlite");
}
