//! Policies: how many requests of an action one subject may make, and how
//! they are written in the config file and the `ratelimit.policies` flag.
//!
//! A policy admits `limit` requests per `period` on average and up to
//! `burst` at once (GCRA: one request every `period / limit`, with a
//! bucket of `burst`). Both sources use the same JSON/TOML shape per action:
//! `{"limit": 10, "period_ms": 900000, "burst": 10, "fail_open": false}`,
//! where `burst` defaults to `limit` and `fail_open` to [`default_fail_open`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RateLimitError;

/// Longest action name, in bytes.
pub const MAX_ACTION_LEN: usize = 64;
/// Longest period a policy may have (30 days): keeps GCRA arithmetic in range.
pub const MAX_PERIOD: Duration = Duration::from_secs(30 * 24 * 3600);
/// A policy's burst may be at most this many times its limit.
pub const MAX_BURST_FACTOR: u32 = 10;

/// One validated limit for one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The action it limits, e.g. `auth.login.ip` (`[a-z0-9._-]{1,64}`).
    pub name: String,
    /// Requests admitted per `period` on average (at least 1).
    pub limit: u32,
    /// The window `limit` refers to (1 ms to [`MAX_PERIOD`], at least 1 ms per request).
    pub period: Duration,
    /// Requests admitted at once from an idle start (1 to 10 × `limit`).
    pub burst: u32,
    /// What happens when the cache cannot be reached: admit (`true`) or refuse.
    pub fail_open: bool,
}

impl Policy {
    /// The GCRA emission interval: one request every `period / limit` (whole ms, rounded down).
    pub fn interval_ms(&self) -> i64 {
        millis(self.period) / i64::from(self.limit)
    }

    /// The GCRA burst tolerance: how far ahead of schedule `burst` requests may run.
    pub fn tolerance_ms(&self) -> i64 {
        self.interval_ms() * (i64::from(self.burst) - 1)
    }

    /// Builds and validates the policy for `action` from its written form.
    pub fn from_spec(action: &str, spec: &PolicySpec) -> Result<Self, RateLimitError> {
        let invalid = |reason: String| RateLimitError::InvalidPolicy(format!("{action}: {reason}"));
        check_action(action).map_err(RateLimitError::InvalidPolicy)?;
        if spec.limit == 0 {
            return Err(invalid("limit must be at least 1".into()));
        }
        if spec.period_ms == 0 {
            return Err(invalid("period_ms must be at least 1".into()));
        }
        let period = Duration::from_millis(spec.period_ms);
        if period > MAX_PERIOD {
            return Err(invalid(format!(
                "period_ms {} is longer than {} (30 days)",
                spec.period_ms,
                MAX_PERIOD.as_millis()
            )));
        }
        if u64::from(spec.limit) > spec.period_ms {
            return Err(invalid(format!(
                "limit {} per {} ms is more than one request per millisecond",
                spec.limit, spec.period_ms
            )));
        }
        let burst = spec.burst.unwrap_or(spec.limit);
        if burst == 0 {
            return Err(invalid("burst must be at least 1".into()));
        }
        if u64::from(burst) > u64::from(spec.limit) * u64::from(MAX_BURST_FACTOR) {
            return Err(invalid(format!(
                "burst {burst} is more than {MAX_BURST_FACTOR} × limit {}",
                spec.limit
            )));
        }
        Ok(Self {
            name: action.to_owned(),
            limit: spec.limit,
            period,
            burst,
            fail_open: spec.fail_open.unwrap_or_else(|| default_fail_open(action)),
        })
    }
}

/// A policy as written in the config file or the flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Requests per period on average.
    pub limit: u32,
    /// The period, in milliseconds.
    pub period_ms: u64,
    /// Requests admitted at once; `limit` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Admit when the cache is down; [`default_fail_open`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<bool>,
}

impl PolicySpec {
    /// `limit` per `period_ms` with the default burst and failure mode.
    pub fn new(limit: u32, period_ms: u64) -> Self {
        Self {
            limit,
            period_ms,
            burst: None,
            fail_open: None,
        }
    }

    /// The same spec with an explicit burst.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The same spec with an explicit failure mode.
    pub fn with_fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = Some(fail_open);
        self
    }
}

/// The failure mode when none is written: auth and one-time-code actions
/// (a dot-separated segment `auth`, `login`, `otp` or `verify`) fail closed,
/// because an outage must not open them to brute force; the rest fail open,
/// because an outage of the cache must not take messaging down with it.
pub fn default_fail_open(action: &str) -> bool {
    !action
        .split('.')
        .any(|segment| matches!(segment, "auth" | "login" | "otp" | "verify"))
}

/// A validated set of policies by action name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    by_action: BTreeMap<String, Policy>,
}

impl Policies {
    /// Validates every spec; the first invalid one is the error (named by action).
    pub fn from_specs(specs: &BTreeMap<String, PolicySpec>) -> Result<Self, RateLimitError> {
        let by_action = specs
            .iter()
            .map(|(action, spec)| Ok((action.clone(), Policy::from_spec(action, spec)?)))
            .collect::<Result<_, RateLimitError>>()?;
        Ok(Self { by_action })
    }

    /// Parses and validates a `ratelimit.policies` flag value:
    /// `{"<action>": {"limit": n, "period_ms": m, "burst": b}}`.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, RateLimitError> {
        let serde_json::Value::Object(entries) = value else {
            return Err(RateLimitError::InvalidPolicy(format!(
                "expected an object of policies by action, got {}",
                kind_of(value)
            )));
        };
        let specs = entries
            .iter()
            .map(|(action, spec)| {
                let spec = PolicySpec::deserialize(spec)
                    .map_err(|e| RateLimitError::InvalidPolicy(format!("{action}: {e}")))?;
                Ok((action.clone(), spec))
            })
            .collect::<Result<_, RateLimitError>>()?;
        Self::from_specs(&specs)
    }

    /// The policy of `action`, if there is one.
    pub fn get(&self, action: &str) -> Option<&Policy> {
        self.by_action.get(action)
    }

    /// Every policy, by action name.
    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.by_action.values()
    }

    /// How many actions have a policy.
    pub fn len(&self) -> usize {
        self.by_action.len()
    }

    /// Whether no action has a policy.
    pub fn is_empty(&self) -> bool {
        self.by_action.is_empty()
    }
}

/// `[a-z0-9._-]{1,64}`: safe in cache keys, metric labels and flag JSON.
pub fn check_action(action: &str) -> Result<(), String> {
    let valid_chars = action
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if action.is_empty() || action.len() > MAX_ACTION_LEN || !valid_chars {
        return Err(format!(
            "action name {:?} must be 1 to {MAX_ACTION_LEN} characters of [a-z0-9._-]",
            truncate(action, 80)
        ));
    }
    Ok(())
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(action: &str, spec: PolicySpec) -> String {
        Policy::from_spec(action, &spec).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_valid_and_auth_fails_closed() {
        let policies = Policies::from_specs(&crate::Config::default().policies).unwrap();
        assert_eq!(policies.len(), 5);
        assert!(!policies.get("auth.login.ip").unwrap().fail_open);
        assert!(!policies.get("auth.verify.phone").unwrap().fail_open);
        assert!(policies.get("messages.send.user").unwrap().fail_open);
        assert!(!default_fail_open("sms.otp.send"));
        assert!(default_fail_open("profile.discovery.user_day"));
    }

    #[test]
    fn gcra_parameters() {
        let policy = Policy::from_spec("a", &PolicySpec::new(10, 1000).with_burst(30)).unwrap();
        assert_eq!((policy.interval_ms(), policy.tolerance_ms()), (100, 2900));
    }

    #[test]
    fn invalid_specs_name_the_action_and_the_rule() {
        assert!(error("x", PolicySpec::new(0, 1000)).contains("x: limit must be at least 1"));
        assert!(error("x", PolicySpec::new(1, 0)).contains("x: period_ms must be at least 1"));
        assert!(
            error("x", PolicySpec::new(10, 100).with_burst(101))
                .contains("burst 101 is more than 10 × limit 10")
        );
        assert!(
            error("x", PolicySpec::new(10, 100).with_burst(0)).contains("burst must be at least 1")
        );
        assert!(
            error("x", PolicySpec::new(2000, 1000))
                .contains("more than one request per millisecond")
        );
        assert!(error("x", PolicySpec::new(1, 31 * 24 * 3_600_000)).contains("30 days"));
        for bad in ["", "Auth.Login", "a b", "a:b", &"a".repeat(65)] {
            assert!(
                error(bad, PolicySpec::new(1, 1000)).contains("[a-z0-9._-]"),
                "{bad:?}"
            );
        }
        assert!(Policy::from_spec(&"a".repeat(64), &PolicySpec::new(1, 1000)).is_ok());
    }
}
