//! The `services.presence` configuration section and the settings of one
//! presence replica ([`PresenceSettings`], also what a gateway embeds).
//!
//! Durations are whole milliseconds in config files (`device_ttl_ms = 30000`):
//! tests run replicas with TTLs of a few seconds.

use std::time::Duration;

use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

use crate::PresenceError;

/// Settings of the presence service; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST address (`GET /v1/presence`).
    pub http_addr: String,
    /// gRPC address (`chatflow.presence.v1.PresenceService`, internal callers only).
    pub grpc_addr: String,
    /// How access tokens of REST callers are verified.
    pub auth: chatflow_authn::VerifierConfig,
    /// The fleet's internal secret (at least 32 bytes) that signs and checks
    /// service identities on gRPC. Required with `--production`; in
    /// development the fleet's `<data_dir>/internal-secret`.
    pub internal_secret: Option<Secret<String>>,
    /// The profile service's gRPC URL (e.g. `http://profile:7101`) for
    /// privacy answers; unset: the profile service in this process.
    pub profile_url: Option<String>,
    /// The replica this service runs.
    pub presence: PresenceSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7160".to_owned(),
            grpc_addr: "127.0.0.1:7161".to_owned(),
            auth: chatflow_authn::VerifierConfig::default(),
            internal_secret: None,
            profile_url: None,
            presence: PresenceSettings::default(),
        }
    }
}

/// How one presence replica behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceSettings {
    /// How long a device report stays live without a refresh: a node that
    /// dies stops refreshing, and its devices read offline everywhere
    /// within this time.
    #[serde(rename = "device_ttl_ms", with = "ms")]
    pub device_ttl: Duration,
    /// How often a node re-stamps its connected devices and rewrites its
    /// snapshot; unset: a third of `device_ttl`.
    #[serde(rename = "refresh_ms", with = "opt_ms")]
    pub refresh: Option<Duration>,
    /// How often a node reads the other nodes' snapshots (and how soon a
    /// changed snapshot is rewritten).
    #[serde(rename = "anti_entropy_ms", with = "ms")]
    pub anti_entropy: Duration,
    /// A watcher gets at most one update per watched user per interval.
    #[serde(rename = "coalesce_ms", with = "ms")]
    pub coalesce: Duration,
    /// How long local changes wait to be published together (and how often
    /// watch updates are flushed).
    #[serde(rename = "delta_batch_ms", with = "ms")]
    pub delta_batch: Duration,
    /// Most users one watch may follow.
    pub max_watch_users: usize,
    /// Updates a watcher may leave unread before newer ones are dropped.
    pub watch_buffer: usize,
    /// How long a visibility answer from the profile service is trusted.
    #[serde(rename = "visibility_cache_ttl_ms", with = "ms")]
    pub visibility_cache_ttl: Duration,
    /// Bound on one question to the profile service.
    #[serde(rename = "visibility_timeout_ms", with = "ms")]
    pub visibility_timeout: Duration,
    /// Users offline for longer than this leave the in-memory state; their
    /// last-seen is then read from the cache (see `last_seen_retention`).
    #[serde(rename = "offline_retention_ms", with = "ms")]
    pub offline_retention: Duration,
    /// How long a user's last-seen time is kept in the cache after their
    /// last activity.
    #[serde(rename = "last_seen_retention_ms", with = "ms")]
    pub last_seen_retention: Duration,
}

impl Default for PresenceSettings {
    fn default() -> Self {
        Self {
            device_ttl: Duration::from_secs(30),
            refresh: None,
            anti_entropy: Duration::from_secs(2),
            coalesce: Duration::from_secs(1),
            delta_batch: Duration::from_millis(50),
            max_watch_users: 500,
            watch_buffer: 64,
            visibility_cache_ttl: Duration::from_secs(10),
            visibility_timeout: Duration::from_secs(3),
            offline_retention: Duration::from_secs(600),
            last_seen_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Upper bound of `max_watch_users` (one watch is one profile question).
pub const MAX_WATCH_USERS_LIMIT: usize = 1000;
/// Upper bound of `watch_buffer`.
pub const MAX_WATCH_BUFFER: usize = 65_536;

impl PresenceSettings {
    /// The refresh interval in effect.
    pub fn refresh(&self) -> Duration {
        self.refresh.unwrap_or(self.device_ttl / 3)
    }

    /// Settings tuned for tests: a short TTL and fast gossip.
    pub fn for_tests(device_ttl: Duration) -> Self {
        Self {
            device_ttl,
            anti_entropy: device_ttl / 8,
            coalesce: Duration::from_millis(250),
            delta_batch: Duration::from_millis(20),
            visibility_cache_ttl: Duration::from_secs(2),
            offline_retention: device_ttl * 3,
            ..Self::default()
        }
    }

    /// Refuses settings under which replicas could not stay consistent.
    pub fn check(&self) -> Result<(), PresenceError> {
        let bad = |field: &str, reason: &str| Err(PresenceError::field(field, reason));
        let positive = [
            ("device_ttl_ms", self.device_ttl),
            ("refresh_ms", self.refresh()),
            ("anti_entropy_ms", self.anti_entropy),
            ("coalesce_ms", self.coalesce),
            ("delta_batch_ms", self.delta_batch),
            ("visibility_cache_ttl_ms", self.visibility_cache_ttl),
            ("visibility_timeout_ms", self.visibility_timeout),
            ("last_seen_retention_ms", self.last_seen_retention),
        ];
        for (field, value) in positive {
            if value < Duration::from_millis(1) {
                return bad(field, "must be at least 1 ms");
            }
        }
        if self.device_ttl > crate::wire::MAX_EXPIRY_AHEAD {
            return bad("device_ttl_ms", "must be at most one hour");
        }
        if self.refresh() + self.anti_entropy >= self.device_ttl {
            return bad(
                "refresh_ms",
                "refresh + anti_entropy must be shorter than device_ttl, or remote devices flap offline",
            );
        }
        if self.offline_retention < self.device_ttl * 2 {
            return bad("offline_retention_ms", "must be at least twice device_ttl");
        }
        if !(1..=MAX_WATCH_USERS_LIMIT).contains(&self.max_watch_users) {
            return bad("max_watch_users", "must be between 1 and 1000");
        }
        if !(1..=MAX_WATCH_BUFFER).contains(&self.watch_buffer) {
            return bad("watch_buffer", "must be between 1 and 65536");
        }
        Ok(())
    }
}

/// `Duration` as whole milliseconds.
mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// `Option<Duration>` as whole milliseconds.
mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|ms| ms.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_test_settings_are_consistent() {
        PresenceSettings::default().check().unwrap();
        PresenceSettings::for_tests(Duration::from_secs(2))
            .check()
            .unwrap();
        assert_eq!(
            PresenceSettings::default().refresh(),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn settings_read_milliseconds_and_refuse_unsafe_combinations() {
        let json = serde_json::json!({"device_ttl_ms": 3000, "refresh_ms": 1000});
        let settings: PresenceSettings = serde_json::from_value(json).unwrap();
        assert_eq!(settings.device_ttl, Duration::from_secs(3));
        assert_eq!(settings.refresh(), Duration::from_secs(1));
        assert!(
            settings.check().is_err(),
            "refresh + anti_entropy reach the ttl"
        );
        let slow = PresenceSettings {
            refresh: Some(Duration::from_secs(29)),
            ..PresenceSettings::default()
        };
        assert!(slow.check().is_err());
        let unknown = serde_json::json!({"device_ttl": 3});
        assert!(serde_json::from_value::<PresenceSettings>(unknown).is_err());
    }
}
