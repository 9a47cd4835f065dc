//! Outbox behaviour on PostgreSQL and SQLite, relaying to the embedded bus;
//! with feature `kv`, the key-value-store relay on the embedded backends.
//!
//! The bus side is the same port everywhere (its own contract suite covers
//! Kafka); what differs here is the relational store holding the outbox.
#![allow(clippy::unwrap_used, missing_docs)]

mod faulty_bus;
#[cfg(feature = "kv")]
mod kv;
mod suite;

use chatflow_sql::{SqlOptions, SqlStore};

pub struct Fixture {
    pub store: SqlStore,
    pub _dir: Option<tempfile::TempDir>,
}

pub async fn postgres() -> Fixture {
    let url = std::env::var("CHATFLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let store = SqlStore::connect(&url, SqlOptions::for_schema(schema))
        .await
        .unwrap();
    create_state_table(&store).await;
    Fixture { store, _dir: None }
}

pub async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("svc.db").display());
    let store = SqlStore::connect(&url, SqlOptions::for_schema("unused"))
        .await
        .unwrap();
    create_state_table(&store).await;
    Fixture {
        store,
        _dir: Some(dir),
    }
}

/// A stand-in for a service's own state, changed in the same transaction.
async fn create_state_table(store: &SqlStore) {
    chatflow_sql::sqlx::query("CREATE TABLE state (id TEXT PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(store.pool())
        .await
        .unwrap();
}

mod on_postgres {
    crate::outbox_suite!(crate::postgres);
}

mod on_sqlite {
    crate::outbox_suite!(crate::sqlite);
}
