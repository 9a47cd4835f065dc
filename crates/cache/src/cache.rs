//! The [`Cache`] trait: the one contract every backend implements.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::{AtomicScript, CacheError};

/// A shared handle to whichever backend [`crate::connect()`] chose.
pub type CacheRef = Arc<dyn Cache>;

/// A live stream of one channel's payloads, from [`Cache::subscribe`].
pub type MessageStream = BoxStream<'static, Result<Bytes, CacheError>>;

/// What [`Cache::ttl`] knows about a key's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTtl {
    /// No such key (or it has expired).
    Missing,
    /// The key exists and never expires.
    Persistent,
    /// The key expires after this long (millisecond precision).
    ExpiresIn(Duration),
}

/// Shared, volatile state: values with expiry, counters, sorted sets,
/// expiring sets, pub/sub and atomic scripts.
///
/// Common rules for every method:
/// - Keys and channels are non-empty UTF-8 of at most [`crate::MAX_KEY_BYTES`]
///   bytes without control characters; values, members and payloads are at
///   most [`crate::MAX_VALUE_BYTES`]; TTLs are between 1 ms and
///   [`crate::MAX_TTL`] (sub-millisecond parts round up). Anything else is
///   [`CacheError::InvalidArgument`] and changes nothing.
/// - A TTL of `None` means "no expiry" and clears any previous TTL of the
///   key being written. Expiry is exact to the millisecond: an expired key is
///   never returned, whether or not it has been evicted yet.
/// - Every call is bounded by `op_timeout`: a down or slow server yields
///   [`CacheError::Unavailable`] (the write may or may not have happened),
///   and the same handle works again once the server is back.
/// - A key holding another kind of value (bytes vs sorted set, non-integer
///   bytes for [`Cache::incr`]) yields [`CacheError::WrongType`].
/// - Each method is atomic on its own: concurrent callers on any number of
///   nodes never observe a half-applied operation.
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value of `key`, or `None` if it is missing or expired.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError>;

    /// Stores `value` under `key`, replacing any value and TTL it had.
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError>;

    /// Stores `value` only if `key` is absent (Redis `SET NX`); true if it was stored.
    ///
    /// Of any number of concurrent callers exactly one wins, which makes it
    /// the building block for idempotency keys and short leases.
    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError>;

    /// Replaces the value of `key` with `new` (and its TTL with `ttl`) only
    /// if it currently equals `expected`; `expected = None` requires the key
    /// to be absent. True if the swap happened.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError>;

    /// Removes `key` of any kind; true if it existed.
    async fn delete(&self, key: &str) -> Result<bool, CacheError>;

    /// Adds `delta` (may be negative) to the integer in `key` and returns the
    /// new value. A missing key counts as 0 and is created with
    /// `ttl_if_created`, in the same atomic step; an existing key keeps its
    /// TTL, so a fixed-window counter expires at the end of its window.
    ///
    /// Counters are stored as decimal text (`get` returns e.g. `b"42"`);
    /// overflowing `i64` is `InvalidArgument` and leaves the value unchanged.
    async fn incr(
        &self,
        key: &str,
        delta: i64,
        ttl_if_created: Option<Duration>,
    ) -> Result<i64, CacheError>;

    /// Sets the TTL of an existing key of any kind; false if the key is missing.
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError>;

    /// How long `key` has left to live.
    async fn ttl(&self, key: &str) -> Result<KeyTtl, CacheError>;

    /// Adds `member` with `score` to the sorted set `key`, or updates its
    /// score; true if the member is new. The key's TTL is left as it is.
    /// Scores may be infinite but not NaN.
    async fn zadd(&self, key: &str, member: &[u8], score: f64) -> Result<bool, CacheError>;

    /// Removes `member` from the sorted set; true if it was there. An empty
    /// sorted set disappears.
    async fn zrem(&self, key: &str, member: &[u8]) -> Result<bool, CacheError>;

    /// Members with `min <= score <= max`, by ascending score, ties by member
    /// bytes; at most `limit` of them (`None` = all).
    async fn zrange_by_score(
        &self,
        key: &str,
        min: f64,
        max: f64,
        limit: Option<usize>,
    ) -> Result<Vec<(Bytes, f64)>, CacheError>;

    /// Removes the members with `min <= score <= max`; returns how many.
    async fn zrem_range_by_score(&self, key: &str, min: f64, max: f64) -> Result<u64, CacheError>;

    /// The number of members of the sorted set (0 if missing).
    async fn zcard(&self, key: &str) -> Result<u64, CacheError>;

    /// Adds `member` to the expiring set `key` (or refreshes it) so that it
    /// expires `ttl` from now; true if it was not a live member before.
    ///
    /// An expiring set is a sorted set whose scores are expiry times in Unix
    /// milliseconds measured on the backend's clock (Redis `TIME`, so nodes
    /// with skewed clocks agree). Each member expires on its own — one per
    /// device for presence, one per connection for the gateway's registry.
    /// Adding also prunes expired members, and extends the key's own TTL to
    /// cover its longest-lived member, so an abandoned set disappears.
    async fn expiring_set_add(
        &self,
        key: &str,
        member: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError>;

    /// The live members of the expiring set, soonest to expire first; prunes
    /// the expired ones as it reads.
    async fn expiring_set_members(&self, key: &str) -> Result<Vec<Bytes>, CacheError>;

    /// Removes `member` from the expiring set; true if it was a live member.
    async fn expiring_set_remove(&self, key: &str, member: &[u8]) -> Result<bool, CacheError>;

    /// Sends `payload` to every current subscriber of `channel` on any node.
    ///
    /// Fire and forget, at most once: a channel with no subscribers drops
    /// it, and nothing is kept for subscribers that come later. Use it to
    /// wake nodes up, never as the only copy of data.
    async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError>;

    /// Subscribes to `channel`; once this returns, every later publish on
    /// it is delivered, in publish order per publisher.
    ///
    /// The stream yields `Err(CacheError::Lagged(n))` and goes on if the
    /// subscriber fell more than [`crate::SUBSCRIBER_BUFFER`] messages behind;
    /// it yields `Err(CacheError::Unavailable)` and ends if the connection
    /// was lost — messages may then have been missed, so resubscribe and
    /// resynchronise from the source of truth. Dropping the stream
    /// unsubscribes.
    async fn subscribe(&self, channel: &str) -> Result<MessageStream, CacheError>;

    /// Runs `script` atomically over `keys` (prefixed like every key) with
    /// integer `args`, returning its integer results.
    ///
    /// Redis runs the Lua source (`EVALSHA`, loading it on first use); the
    /// in-process backend runs the Rust twin under its store lock. No other
    /// operation interleaves with a script on either backend.
    async fn eval(
        &self,
        script: &AtomicScript,
        keys: &[String],
        args: &[i64],
    ) -> Result<Vec<i64>, CacheError>;

    /// Checks the backend answers, for `/readyz`.
    async fn ping(&self) -> Result<(), CacheError>;

    /// The backend's name for logs and test output: "redis" or "memory".
    fn backend(&self) -> &'static str;
}
