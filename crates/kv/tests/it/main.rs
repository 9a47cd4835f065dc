//! Contract suite of the key-value port, run against SQLite and DynamoDB Local.
//!
//! Every case is written once in [`cases`] and instantiated per backend by
//! [`contract_suite!`], so test names say which backend ran:
//! `dynamodb::racing_if_absent_puts_have_one_winner`. DynamoDB-only checks
//! (unreachable endpoints, a private emulator killed and restarted) live in
//! [`dynamodb_faults`], the retry policy against a scripted endpoint in
//! [`dynamodb_retries`], and SQLite's file handling in [`sqlite_files`].
#![allow(clippy::unwrap_used, missing_docs)]

mod cases;
mod dynamodb_faults;
mod dynamodb_retries;
mod emulator;
mod fake_dynamo;
mod sqlite_files;

use std::time::Duration;

use chatflow_kv::{Item, KvOptions, KvStoreRef, TableSpec};

/// The table every case uses: secondary index and TTL on.
pub const MESSAGES: &str = "messages";
/// A plain second table, for transactions spanning tables.
pub const COUNTERS: &str = "counters";

/// The tables the fixture creates.
pub fn specs() -> Vec<TableSpec> {
    vec![
        TableSpec::new(MESSAGES).with_secondary_index().with_ttl(),
        TableSpec::new(COUNTERS),
    ]
}

/// A store with fresh, uniquely prefixed tables, plus what keeps it alive.
pub struct Fixture {
    pub store: KvStoreRef,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    /// Drops the tables so the shared emulator does not accumulate them.
    pub async fn cleanup(self) {
        self.store.drop_tables(&[MESSAGES, COUNTERS]).await.unwrap();
    }
}

/// Options used by the suite: a unique prefix and any credentials.
pub fn options() -> KvOptions {
    let id = uuid::Uuid::new_v4().simple().to_string();
    KvOptions {
        table_prefix: format!("t{}_", &id[..12]),
        op_timeout: Duration::from_secs(15),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        ..KvOptions::default()
    }
}

pub fn dynamodb_url() -> String {
    std::env::var("CHATFLOW_TEST_DYNAMODB_URL")
        .unwrap_or_else(|_| "dynamodb://127.0.0.1:8000".to_owned())
}

pub async fn dynamodb_fixture() -> Fixture {
    let store = chatflow_kv::connect(&dynamodb_url(), options())
        .await
        .unwrap();
    store.ensure_tables(&specs()).await.expect(
        "DynamoDB Local must be running for the contract suite (scripts/test.sh starts it)",
    );
    Fixture { store, _dir: None }
}

pub async fn sqlite_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/kv.db").display());
    let store = chatflow_kv::connect(&url, options()).await.unwrap();
    store.ensure_tables(&specs()).await.unwrap();
    Fixture {
        store,
        _dir: Some(dir),
    }
}

/// Message `seq` of a conversation, keyed the way the router keys them.
pub fn message(conversation: &str, seq: u64) -> Item {
    Item::new(
        format!("conv#{conversation}"),
        format!("msg#{seq:010}"),
        format!("body {seq}").into_bytes(),
    )
}

/// Instantiates every contract case for one backend.
#[macro_export]
macro_rules! contract_suite {
    ($fixture:path, $backend:literal, [$($case:ident),* $(,)?]) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn reports_its_backend() {
            let fx = $fixture().await;
            assert_eq!(fx.store.backend(), $backend);
            fx.cleanup().await;
        }
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fx = $fixture().await;
                $crate::cases::$case(&fx.store).await;
                fx.cleanup().await;
            }
        )*
    };
}

/// The cases, listed once for both backends.
macro_rules! all_cases {
    ($fixture:path, $backend:literal) => {
        $crate::contract_suite!(
            $fixture,
            $backend,
            [
                put_if_absent_writes_once,
                put_if_version_checks_and_bumps,
                blind_put_overwrites_with_given_version,
                get_round_trips_every_field,
                delete_honours_its_condition,
                paginates_250_items_both_directions,
                sort_ranges_select_what_they_say,
                secondary_index_pages_in_order,
                increment_creates_and_accumulates,
                batch_put_writes_100_items,
                transact_commits_every_op,
                transact_cancel_writes_nothing,
                expired_items_are_invisible,
                oversized_and_malformed_items_are_rejected,
                malformed_cursors_are_rejected,
                racing_if_absent_puts_have_one_winner,
                concurrent_increments_are_exact,
                ensure_tables_is_idempotent,
                missing_table_is_not_found,
            ]
        );
    };
}

mod sqlite {
    all_cases!(crate::sqlite_fixture, "sqlite");
}

mod dynamodb {
    all_cases!(crate::dynamodb_fixture, "dynamodb");
}
