//! Lua bodies of the operations Redis has no single command for. Each runs
//! atomically (`EVALSHA`, loaded on first use) and mirrors the in-process code.

use std::sync::LazyLock;

use redis::Script;

/// `KEYS[1]`; `ARGV`: has-expected `0/1`, expected, new, TTL ms (`0` = none).
pub(super) static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if ARGV[1] == '1' then
  if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
"#,
    )
});

/// `KEYS[1]`; `ARGV`: delta, TTL ms applied only if the key is created (`0` = none).
pub(super) static INCR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"#,
    )
});

/// The server's clock in Unix ms; scripts that read it then write need
/// effects replication (the default since Redis 5, a no-op call in 7).
const NOW: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"#;

/// `KEYS[1]`; `ARGV`: member, TTL ms. Returns 1 if the member was not live.
pub(super) static EXPIRING_SET_ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW}
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
local added = redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return added
"#
    ))
});

/// `KEYS[1]`. Prunes expired members, returns the live ones by expiry.
pub(super) static EXPIRING_SET_MEMBERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"#
    ))
});

/// `KEYS[1]`; `ARGV`: member. Returns 1 if a live member was removed.
pub(super) static EXPIRING_SET_REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 and tonumber(expiry) > now then
  return 1
end
return 0
"#
    ))
});
