//! The Redis backend: one multiplexed, self-reconnecting connection
//! ([`redis::aio::ConnectionManager`]) for commands and scripts, and a
//! dedicated pub/sub connection ([`pubsub::PubSubHub`]). Every call is
//! bounded by `op_timeout`.

mod client;
mod lua;
mod pubsub;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub(crate) use self::client::RedisCache;
use self::client::{cmd, fmt_score, ttl_arg};
use crate::keys::{check_value, opt_ttl_ms, score, ttl_ms};
use crate::{AtomicScript, Cache, CacheError, KeyTtl, MessageStream};

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        let value: Option<Vec<u8>> = self.query("get", cmd("GET", &self.keys.key(key)?)).await?;
        Ok(value.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        let (mut cmd, ttl) = (cmd("SET", &self.keys.key(key)?), opt_ttl_ms(ttl)?);
        check_value("value", value)?;
        cmd.arg(value);
        if let Some(ms) = ttl {
            cmd.arg("PX").arg(ms);
        }
        self.query("set", cmd).await
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let (mut cmd, ttl) = (cmd("SET", &self.keys.key(key)?), opt_ttl_ms(ttl)?);
        check_value("value", value)?;
        cmd.arg(value).arg("NX");
        if let Some(ms) = ttl {
            cmd.arg("PX").arg(ms);
        }
        let reply: Option<String> = self.query("set_if_absent", cmd).await?;
        Ok(reply.is_some())
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, opt_ttl_ms(ttl)?);
        check_value("value", new)?;
        let has_expected: &[u8] = if expected.is_some() { b"1" } else { b"0" };
        let args = [
            has_expected,
            expected.unwrap_or_default(),
            new,
            &ttl_arg(ttl),
        ];
        let swapped: i64 = self
            .script("compare_and_set", &lua::COMPARE_AND_SET, &key, &args)
            .await?;
        Ok(swapped == 1)
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let removed: i64 = self
            .query("delete", cmd("DEL", &self.keys.key(key)?))
            .await?;
        Ok(removed > 0)
    }

    async fn incr(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> Result<i64, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, opt_ttl_ms(ttl_if_created)?);
        let (delta, ttl) = (delta.to_string(), ttl_arg(ttl));
        let args = [delta.as_bytes(), &ttl];
        self.script("incr", &lua::INCR, &key, &args).await
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let (mut cmd, ttl) = (cmd("PEXPIRE", &self.keys.key(key)?), ttl_ms(ttl)?);
        cmd.arg(ttl);
        let set: i64 = self.query("expire", cmd).await?;
        Ok(set == 1)
    }

    async fn ttl(&self, key: &str) -> Result<KeyTtl, CacheError> {
        let ms: i64 = self.query("ttl", cmd("PTTL", &self.keys.key(key)?)).await?;
        Ok(match ms {
            -1 => KeyTtl::Persistent,
            ms if ms < 0 => KeyTtl::Missing,
            ms => KeyTtl::ExpiresIn(Duration::from_millis(ms as u64)),
        })
    }

    async fn zadd(&self, key: &str, member: &[u8], score_: f64) -> Result<bool, CacheError> {
        let (mut cmd, score_) = (cmd("ZADD", &self.keys.key(key)?), score("score", score_)?);
        check_value("member", member)?;
        cmd.arg(fmt_score(score_)).arg(member);
        let added: i64 = self.query("zadd", cmd).await?;
        Ok(added == 1)
    }

    async fn zrem(&self, key: &str, member: &[u8]) -> Result<bool, CacheError> {
        let mut cmd = cmd("ZREM", &self.keys.key(key)?);
        cmd.arg(member);
        let removed: i64 = self.query("zrem", cmd).await?;
        Ok(removed == 1)
    }

    async fn zrange_by_score(
        &self,
        key: &str,
        min: f64,
        max: f64,
        limit: Option<usize>,
    ) -> Result<Vec<(Bytes, f64)>, CacheError> {
        let mut cmd = cmd("ZRANGEBYSCORE", &self.keys.key(key)?);
        let (min, max) = (score("min", min)?, score("max", max)?);
        cmd.arg(fmt_score(min))
            .arg(fmt_score(max))
            .arg("WITHSCORES");
        if let Some(limit) = limit {
            cmd.arg("LIMIT").arg(0).arg(limit);
        }
        let flat: Vec<Vec<u8>> = self.query("zrange_by_score", cmd).await?;
        flat.chunks_exact(2)
            .map(|pair| {
                let score = std::str::from_utf8(&pair[1])
                    .ok()
                    .and_then(|s| s.parse().ok());
                score
                    .map(|score| (Bytes::copy_from_slice(&pair[0]), score))
                    .ok_or_else(|| {
                        CacheError::Internal("redis returned a non-numeric score".into())
                    })
            })
            .collect()
    }

    async fn zrem_range_by_score(&self, key: &str, min: f64, max: f64) -> Result<u64, CacheError> {
        let mut cmd = cmd("ZREMRANGEBYSCORE", &self.keys.key(key)?);
        let (min, max) = (score("min", min)?, score("max", max)?);
        cmd.arg(fmt_score(min)).arg(fmt_score(max));
        self.query("zrem_range_by_score", cmd).await
    }

    async fn zcard(&self, key: &str) -> Result<u64, CacheError> {
        self.query("zcard", cmd("ZCARD", &self.keys.key(key)?))
            .await
    }

    async fn expiring_set_add(
        &self,
        key: &str,
        member: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let (key, ttl) = (self.keys.key(key)?, ttl_ms(ttl)?);
        check_value("member", member)?;
        let ttl = ttl.to_string();
        let args = [member, ttl.as_bytes()];
        let added: i64 = self
            .script("expiring_set_add", &lua::EXPIRING_SET_ADD, &key, &args)
            .await?;
        Ok(added == 1)
    }

    async fn expiring_set_members(&self, key: &str) -> Result<Vec<Bytes>, CacheError> {
        let key = self.keys.key(key)?;
        let members: Vec<Vec<u8>> = self
            .script(
                "expiring_set_members",
                &lua::EXPIRING_SET_MEMBERS,
                &key,
                &[],
            )
            .await?;
        Ok(members.into_iter().map(Bytes::from).collect())
    }

    async fn expiring_set_remove(&self, key: &str, member: &[u8]) -> Result<bool, CacheError> {
        let key = self.keys.key(key)?;
        let removed: i64 = self
            .script(
                "expiring_set_remove",
                &lua::EXPIRING_SET_REMOVE,
                &key,
                &[member],
            )
            .await?;
        Ok(removed == 1)
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        let mut cmd = cmd("PUBLISH", &self.keys.channel(channel)?);
        check_value("payload", payload)?;
        cmd.arg(payload);
        let _receivers: i64 = self.query("publish", cmd).await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<MessageStream, CacheError> {
        let channel = self.keys.channel(channel)?;
        Ok(Box::pin(self.pubsub.subscribe(channel).await?))
    }

    async fn eval(
        &self,
        script: &AtomicScript,
        keys: &[String],
        args: &[i64],
    ) -> Result<Vec<i64>, CacheError> {
        let keys = self.keys.keys(keys)?;
        let mut invocation = script.redis_script().prepare_invoke();
        for key in &keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        self.run("eval", |mut conn| async move {
            invocation.invoke_async(&mut conn).await
        })
        .await
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let _pong: String = self.query("ping", redis::cmd("PING")).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
