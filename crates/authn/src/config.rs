//! [`VerifierConfig`]: where keys come from and what a token must say.
//!
//! Durations are whole seconds in config files (`leeway_secs = 30`), like
//! every other ChatFlow setting.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::claims::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};

/// Settings of a [`crate::TokenVerifier`]; defaults match the auth service's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierConfig {
    /// Full URL of the auth service's key set, e.g.
    /// `http://auth:7090/.well-known/jwks.json` (split mode). `None` means
    /// the keys come from the auth service in the same process (all-in-one).
    pub jwks_url: Option<String>,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(rename = "leeway_secs", with = "secs")]
    pub leeway: Duration,
    /// Floor between two key-set fetches caused by unknown `kid`s, so a flood
    /// of forged kids cannot hammer the auth service.
    #[serde(rename = "min_refetch_interval_secs", with = "secs")]
    pub min_refetch_interval: Duration,
    /// Age after which the key set is fetched again even without an unknown
    /// `kid`, so keys withdrawn from the JWKS stop being accepted.
    #[serde(rename = "refresh_interval_secs", with = "secs")]
    pub refresh_interval: Duration,
    /// Bound on one HTTP key-set fetch.
    #[serde(rename = "fetch_timeout_secs", with = "secs")]
    pub fetch_timeout: Duration,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            jwks_url: None,
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            leeway: Duration::from_secs(30),
            min_refetch_interval: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(300),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// `Duration` as whole seconds.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_seconds_in_config_files() {
        let config: VerifierConfig =
            serde_json::from_str(r#"{"leeway_secs": 5, "jwks_url": "http://auth/jwks"}"#)
                .expect("valid config");
        assert_eq!(config.leeway, Duration::from_secs(5));
        assert_eq!(config.min_refetch_interval, Duration::from_secs(30));
        let json = serde_json::to_value(&config).expect("serializable");
        assert_eq!(json["leeway_secs"], 5);
        assert!(serde_json::from_str::<VerifierConfig>(r#"{"leeway": 5}"#).is_err());
    }
}
