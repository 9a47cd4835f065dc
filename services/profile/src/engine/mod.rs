//! The business logic behind every endpoint, independent of HTTP.
//!
//! [`Engine`] ties the store, the discovery key and the rate limiter
//! together; each file holds one area: profiles and privacy, contacts and
//! blocks, discovery.

mod discovery;
mod profile;
mod relations;

use std::ops::Deref;
use std::sync::Arc;

use chatflow_rate_limit::RateLimiter;

pub use profile::ProfilePatch;

use crate::Config;
use crate::keys::DiscoveryKey;
use crate::store::ProfileStore;

/// Attempts of a compare-and-set write that lost a race before giving up.
const MAX_RACES: usize = 3;

/// Everything the endpoints share.
pub struct Parts {
    /// Settings.
    pub config: Config,
    /// Tables and outbox.
    pub store: ProfileStore,
    /// The HMAC key of the discovery directory.
    pub key: DiscoveryKey,
    /// Charges discovery lookups against `profile.discovery.user_day`.
    pub limiter: RateLimiter,
}

/// The profile engine; cheap to clone.
#[derive(Clone)]
pub struct Engine(Arc<Parts>);

impl Deref for Engine {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl Engine {
    /// Wraps the parts.
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }
}

/// A protobuf timestamp from Unix milliseconds.
pub(crate) fn timestamp(ms: i64) -> chatflow_proto::prost_types::Timestamp {
    chatflow_proto::prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}
