//! The policies in effect: the file's, overridden per action by the live
//! `ratelimit.policies` flag (flag > file).
//!
//! The flag is read from a [`FlagCache`] on every check, so a change applied
//! to the cache governs the very next check. Its JSON is parsed once per flag
//! version. An invalid flag version is logged, counted and ignored: the last
//! valid flag version stays in effect (the file's policies if there was none),
//! so a typo in an update never loosens or drops limits. Deleting the flag
//! returns every action to its file policy.

use std::sync::Arc;

use chatflow_flags::{EvaluationContext, FlagCache};
use parking_lot::Mutex;

use crate::{Policies, Policy};

/// The config-service flag whose JSON value overrides file policies.
pub const POLICY_FLAG: &str = "ratelimit.policies";

/// File policies plus the flag overlay; cheap to clone, clones share the memo.
#[derive(Clone)]
pub(crate) struct LivePolicies {
    file: Arc<Policies>,
    flags: Option<FlagCache>,
    memo: Arc<Mutex<Memo>>,
}

/// The overlay parsed from the flag version last seen.
#[derive(Default)]
struct Memo {
    version: Option<u64>,
    overlay: Arc<Policies>,
}

impl LivePolicies {
    /// `file` policies, overridden live from `flags` when given.
    pub(crate) fn new(file: Policies, flags: Option<FlagCache>) -> Self {
        Self {
            file: Arc::new(file),
            flags,
            memo: Arc::default(),
        }
    }

    /// The policy in effect for `action` right now.
    pub(crate) fn resolve(&self, action: &str) -> Option<Policy> {
        if let Some(policy) = self.overlay().get(action) {
            return Some(policy.clone());
        }
        self.file.get(action).cloned()
    }

    /// The current flag overlay, re-parsed when the flag's version moved.
    fn overlay(&self) -> Arc<Policies> {
        let Some(flags) = &self.flags else {
            return Arc::default();
        };
        let version = flags.version(POLICY_FLAG);
        let mut memo = self.memo.lock();
        if memo.version != version {
            memo.version = version;
            if let Some(overlay) = parse_flag(flags, version) {
                memo.overlay = Arc::new(overlay);
            }
        }
        memo.overlay.clone()
    }
}

/// The flag's policies; empty when the flag is absent or deleted, `None`
/// (keep the previous overlay) when its value is invalid.
fn parse_flag(flags: &FlagCache, version: Option<u64>) -> Option<Policies> {
    let Some(evaluation) = flags.evaluate(POLICY_FLAG, &EvaluationContext::default()) else {
        if version.is_some() {
            tracing::info!(
                ?version,
                "rate-limit policy flag removed; file policies apply"
            );
        }
        return Some(Policies::default());
    };
    match Policies::from_json(&evaluation.value) {
        Ok(policies) => {
            tracing::info!(
                ?version,
                actions = policies.len(),
                "rate-limit policies from the flag applied"
            );
            Some(policies)
        }
        Err(error) => {
            tracing::warn!(?version, %error, "ignoring an invalid rate-limit policy flag");
            metrics::counter!(crate::metrics::FLAG_REJECTED).increment(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicySpec;

    fn flag(version: u64, value: serde_json::Value) -> chatflow_flags::StoredFlag {
        let spec = serde_json::json!({
            "kind": "json", "variants": {"v": value}, "default_variant": "v", "enabled": true
        });
        chatflow_flags::StoredFlag {
            key: POLICY_FLAG.parse().unwrap(),
            spec: serde_json::from_value(spec).unwrap(),
            version,
            updated_at_ms: 0,
            updated_by: "test".into(),
            deleted: false,
        }
    }

    #[test]
    fn flag_overrides_file_and_bad_versions_keep_the_last_good_one() {
        let file = [("a.b".to_owned(), PolicySpec::new(5, 1000))].into();
        let flags = FlagCache::new();
        let live = LivePolicies::new(Policies::from_specs(&file).unwrap(), Some(flags.clone()));
        assert_eq!(live.resolve("a.b").map(|p| p.limit), Some(5));
        assert!(live.resolve("c.d").is_none());

        let value = serde_json::json!({"a.b": {"limit": 7, "period_ms": 1000}, "c.d": {"limit": 1, "period_ms": 10}});
        flags.apply(flag(1, value));
        assert_eq!(live.resolve("a.b").map(|p| p.limit), Some(7));
        assert_eq!(live.resolve("c.d").map(|p| p.limit), Some(1));

        flags.apply(flag(
            2,
            serde_json::json!({"a.b": {"limit": 0, "period_ms": 1000}}),
        ));
        assert_eq!(
            live.resolve("a.b").map(|p| p.limit),
            Some(7),
            "invalid version ignored"
        );

        let mut tombstone = flag(3, serde_json::json!({}));
        tombstone.deleted = true;
        flags.apply(tombstone);
        assert_eq!(
            live.resolve("a.b").map(|p| p.limit),
            Some(5),
            "back to the file"
        );
        assert!(live.resolve("c.d").is_none());
    }
}
