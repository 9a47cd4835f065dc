//! The cache, counters and pub/sub port.
//!
//! Services keep shared, volatile state through a [`Cache`] handle: values
//! with expiry (session revocation lists, idempotency keys, leases), atomic
//! counters, sorted sets, expiring sets (presence per device, the gateway's
//! connection registry), pub/sub (cross-node notifications) and atomic
//! scripts (rate limiting with [`gcra()`]). The backend is chosen by URL in
//! [`connect()`]: `redis://…` in production, `memory://` when embedded. Both
//! pass the same contract suite, so business code never knows which it has.
//!
//! Every failure is a [`CacheError`] with a shared `ErrorKind`: a bad key
//! or an oversized value is `InvalidArgument` before anything is sent, a
//! down server is `Unavailable` within `op_timeout`, never a panic or a
//! hang, and the same handle works again once the server is back.

mod cache;
mod connect;
mod error;
mod fanout;
mod gcra;
mod keys;
mod memory;
mod redis_backend;
mod script;

use std::time::Duration;

pub use cache::{Cache, CacheRef, KeyTtl, MessageStream};
pub(crate) use connect::redact;
pub use connect::{CacheOptions, connect};
pub use error::CacheError;
pub use gcra::{
    GCRA_MAX_COST, GCRA_MAX_INTERVAL_MS, GCRA_MAX_NOW_MS, GCRA_MAX_TOLERANCE_MS, GcraOutcome, gcra,
};
pub use script::{AtomicScript, LocalKeys, LocalScriptFn};

/// Longest key or channel name, in bytes (before the prefix).
pub const MAX_KEY_BYTES: usize = 1024;

/// Largest value, member or payload, in bytes: far below Redis' 512 MiB so
/// one call never stalls the server or the connection everyone shares.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Longest TTL accepted (ten years); keeps expiry arithmetic exact everywhere.
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Messages a subscriber may fall behind before it gets [`CacheError::Lagged`].
pub const SUBSCRIBER_BUFFER: usize = 1024;
