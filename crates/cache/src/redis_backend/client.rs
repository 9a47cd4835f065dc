//! [`RedisCache`]: the connection to Redis and the helpers every operation
//! goes through, each bounded by `op_timeout`.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, RedisResult};

use super::pubsub::{PubSubHub, timed_out};
use crate::CacheError;
use crate::keys::Keyspace;

/// A Redis server reached through `redis://host:port[/db]`.
pub(crate) struct RedisCache {
    conn: ConnectionManager,
    pub(super) keys: Keyspace,
    op_timeout: Duration,
    pub(super) pubsub: PubSubHub,
}

impl RedisCache {
    /// Connects within `op_timeout`; afterwards the connection heals itself.
    pub(crate) async fn connect(
        url: &str,
        keys: Keyspace,
        op_timeout: Duration,
    ) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(|err| {
            CacheError::InvalidArgument(format!("redis url {}: {err}", crate::redact(url)))
        })?;
        // Reconnect attempts start after the redis crate's 1 s floor, then
        // retry every 0.5–1 s, so a server that is back is found within ~1 s.
        // After the last retry the next call starts a new round.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(op_timeout)
            .set_response_timeout(op_timeout)
            .set_factor(2)
            .set_max_delay(500)
            .set_number_of_retries(6);
        let conn = tokio::time::timeout(
            op_timeout,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| timed_out("connect", op_timeout))??;
        Ok(Self {
            conn,
            keys,
            op_timeout,
            pubsub: PubSubHub::new(client, op_timeout),
        })
    }

    /// Runs `call` on the shared connection within `op_timeout`.
    pub(super) async fn run<T, F, Fut>(&self, op: &'static str, call: F) -> Result<T, CacheError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match tokio::time::timeout(self.op_timeout, call(self.conn.clone())).await {
            Ok(result) => result.map_err(CacheError::from),
            Err(_) => Err(timed_out(op, self.op_timeout)),
        }
    }

    /// Runs one command.
    pub(super) async fn query<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: Cmd,
    ) -> Result<T, CacheError> {
        self.run(
            op,
            |mut conn| async move { cmd.query_async(&mut conn).await },
        )
        .await
    }

    /// Runs one of the built-in scripts on `key`.
    pub(super) async fn script<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        script: &redis::Script,
        key: &str,
        args: &[&[u8]],
    ) -> Result<T, CacheError> {
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        self.run(op, |mut conn| async move {
            invocation.invoke_async(&mut conn).await
        })
        .await
    }
}

/// A command on `key`; arguments follow.
pub(super) fn cmd(name: &str, key: &str) -> Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    cmd
}

/// A score as Redis parses it (`+inf`, `-inf`, or a round-tripping decimal).
pub(super) fn fmt_score(value: f64) -> String {
    match value {
        f64::INFINITY => "+inf".to_owned(),
        f64::NEG_INFINITY => "-inf".to_owned(),
        finite => finite.to_string(),
    }
}

/// A TTL argument for the scripts: milliseconds, or `0` for none.
pub(super) fn ttl_arg(ttl: Option<i64>) -> Vec<u8> {
    ttl.unwrap_or(0).to_string().into_bytes()
}
