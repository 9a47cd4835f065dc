//! [`AtomicScript`]: one piece of atomic logic written twice — Lua for
//! Redis, Rust for the in-process store — and [`LocalKeys`], the view the
//! Rust twin gets of the store while it holds the lock.

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::memory::store::{Store, unix_ms};
use crate::{CacheError, KeyTtl};

/// The Rust twin of a Lua script: gets the declared keys (already prefixed,
/// like Lua's `KEYS`) and the integer arguments (Lua's `ARGV`).
pub type LocalScriptFn = fn(&mut LocalKeys<'_>, &[String], &[i64]) -> Result<Vec<i64>, CacheError>;

/// A script run atomically by [`crate::Cache::eval`] on every backend.
///
/// The two bodies must have the same semantics; the contract suite runs
/// each shipped script on both backends and compares the replies. The Lua
/// body may only touch keys passed in `KEYS` (Redis Cluster's rule), reads
/// `ARGV` as integers, returns an array of integers, and reports a bad
/// argument as `redis.error_reply('EINVAL ...')`, which becomes
/// [`CacheError::InvalidArgument`] like the Rust twin's error.
pub struct AtomicScript {
    name: &'static str,
    lua: &'static str,
    local: LocalScriptFn,
    redis: OnceLock<redis::Script>,
}

impl AtomicScript {
    /// A script named `name` (for logs) with its two bodies.
    pub const fn new(name: &'static str, lua: &'static str, local: LocalScriptFn) -> Self {
        Self {
            name,
            lua,
            local,
            redis: OnceLock::new(),
        }
    }

    /// The name given at construction.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Lua source Redis runs.
    pub fn lua(&self) -> &'static str {
        self.lua
    }

    /// The Lua body with its SHA-1 computed once, for `EVALSHA`.
    pub(crate) fn redis_script(&self) -> &redis::Script {
        self.redis.get_or_init(|| redis::Script::new(self.lua))
    }

    /// Runs the Rust twin on `store`; the caller holds the store's lock.
    pub(crate) fn run_local(
        &self,
        store: &mut Store,
        keys: &[String],
        args: &[i64],
    ) -> Result<Vec<i64>, CacheError> {
        let mut view = LocalKeys {
            store,
            declared: keys,
            now: Instant::now(),
        };
        (self.local)(&mut view, keys, args)
    }
}

impl fmt::Debug for AtomicScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicScript")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The in-process store as a script sees it: bytes and integers with
/// millisecond TTLs, restricted to the keys the script declared.
pub struct LocalKeys<'a> {
    store: &'a mut Store,
    declared: &'a [String],
    now: Instant,
}

impl LocalKeys<'_> {
    /// Wall-clock Unix milliseconds, the counterpart of Lua's `redis.call('TIME')`.
    pub fn now_ms(&self) -> i64 {
        unix_ms()
    }

    /// The bytes under `key` (`GET`).
    pub fn get(&mut self, key: &str) -> Result<Option<Bytes>, CacheError> {
        self.check(key)?;
        self.store.bytes(key, self.now)
    }

    /// The integer under `key`; `WrongType` if it is not decimal text.
    pub fn get_int(&mut self, key: &str) -> Result<Option<i64>, CacheError> {
        self.check(key)?;
        self.store.int(key, self.now)
    }

    /// Stores bytes with an optional TTL (`SET key value [PX ms]`).
    pub fn set(
        &mut self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.check(key)?;
        let ttl_ms = crate::keys::opt_ttl_ms(ttl)?;
        self.store
            .put_bytes(key, Bytes::copy_from_slice(value), ttl_ms, self.now);
        Ok(())
    }

    /// Stores an integer as decimal text, as Redis does.
    pub fn set_int(
        &mut self,
        key: &str,
        value: i64,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.set(key, value.to_string().as_bytes(), ttl)
    }

    /// Removes `key` (`DEL`); true if it existed.
    pub fn delete(&mut self, key: &str) -> Result<bool, CacheError> {
        self.check(key)?;
        Ok(self.store.remove(key, self.now))
    }

    /// How long `key` has to live (`PTTL`).
    pub fn ttl(&mut self, key: &str) -> Result<KeyTtl, CacheError> {
        self.check(key)?;
        Ok(self.store.ttl(key, self.now))
    }

    /// Scripts may only touch the keys they declared, as on Redis Cluster.
    fn check(&self, key: &str) -> Result<(), CacheError> {
        if self.declared.iter().any(|declared| declared == key) {
            Ok(())
        } else {
            Err(CacheError::Internal(format!(
                "script touched undeclared key {key:?}"
            )))
        }
    }
}
