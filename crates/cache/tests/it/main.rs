//! Contract suite of the cache port, run against the in-process store and Redis.
//!
//! Every test is written once in [`contract`] and instantiated per backend, so
//! the test names say which backend ran: `redis::counters::racing_increments_add_up`.
//! Each test works under its own key prefix, so they run in parallel on one
//! Redis; [`fault`] starts private `redis-server` processes to kill.
#![allow(clippy::unwrap_used, missing_docs)]

mod agreement;
mod contract;
mod fault;

use std::future::Future;
use std::time::{Duration, Instant};

use chatflow_cache::{CacheOptions, CacheRef, connect};

/// A fresh cache under a unique prefix; removes its Redis keys when dropped.
pub struct Fixture {
    pub cache: CacheRef,
    cleanup: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((url, prefix)) = self.cleanup.take() {
            delete_prefixed(&url, &prefix);
        }
    }
}

pub fn redis_url() -> String {
    std::env::var("CHATFLOW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn unique_prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4().simple())
}

/// Short timeouts so failure cases are quick.
pub fn options(prefix: &str) -> CacheOptions {
    CacheOptions {
        key_prefix: Some(prefix.to_owned()),
        op_timeout: Duration::from_secs(2),
    }
}

pub async fn memory_fixture() -> Fixture {
    let cache = connect("memory://", options(&unique_prefix()))
        .await
        .unwrap();
    Fixture {
        cache,
        cleanup: None,
    }
}

pub async fn redis_fixture() -> Fixture {
    let (url, prefix) = (redis_url(), unique_prefix());
    let cache = connect(&url, options(&prefix))
        .await
        .expect("Redis must be running for the contract suite (scripts/test.sh starts it)");
    Fixture {
        cache,
        cleanup: Some((url, prefix)),
    }
}

/// Best-effort removal of a test's keys with a short-lived blocking connection.
fn delete_prefixed(url: &str, prefix: &str) {
    let Ok(client) = ::redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
        return;
    };
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: ::redis::RedisResult<i64> = ::redis::cmd("DEL").arg(keys).query(&mut conn);
    }
}

/// Polls `check` every 20 ms until it holds; panics after `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

mod memory {
    crate::contract_suite!(crate::memory_fixture, "memory");
}

mod redis {
    crate::contract_suite!(crate::redis_fixture, "redis");
}
