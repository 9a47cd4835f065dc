//! Deciding which variant a flag serves to one caller.
//!
//! Evaluation is pure and deterministic: the same flag and context always give
//! the same [`Evaluation`], on any machine, so the `config` service and every
//! embedded [`FlagCache`](crate::FlagCache) agree without talking to each other.
//! It never panics, even on a spec that skipped [`validate`](crate::validate).

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{AttributeOp, Bucket, Condition, Serve, StoredFlag};
use crate::validate::TOTAL_WEIGHT;

/// Who is asking: the inputs rules are tested against.
///
/// An empty `user_id` counts as absent, so anonymous clients that send `""`
/// are not all hashed into the same rollout bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationContext {
    /// The signed-in user, if any; needed by user lists and rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Attribute name to value, e.g. `platform: ios`, `app_version: 2.3.0`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl EvaluationContext {
    /// A context for a signed-in user, with no attributes yet.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self {
            user_id: Some(user_id.into()),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) one attribute; chains.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    fn user(&self) -> Option<&str> {
        self.user_id.as_deref().filter(|id| !id.is_empty())
    }
}

/// The outcome of evaluating one flag for one context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// The served variant's name.
    pub variant: String,
    /// The served variant's value (`null` only if an unvalidated spec names a missing variant).
    pub value: Value,
    /// Why this variant was served.
    pub reason: Reason,
}

/// Why a variant was served; tagged by `"type"`, e.g. `{"type": "rule_match", "index": 2}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reason {
    /// The flag is disabled: `off_variant` (or `default_variant`) was served.
    Disabled,
    /// The flag is a tombstone: served like a disabled flag.
    Deleted,
    /// Rule `index` (0-based) matched and decided the variant.
    RuleMatch {
        /// Position of the rule in `rules`.
        index: usize,
    },
    /// Rule `index` matched but is a rollout and there is no user id to hash,
    /// so `default_variant` was served.
    NoUserForRollout {
        /// Position of the rule in `rules`.
        index: usize,
    },
    /// The flag is enabled and no rule matched: `default_variant` was served.
    Default,
}

/// Evaluates `flag` for `ctx`: kill switch, then rules in order, then the default.
pub fn evaluate(flag: &StoredFlag, ctx: &EvaluationContext) -> Evaluation {
    let (variant, reason) = decide(flag, ctx);
    Evaluation {
        variant: variant.to_owned(),
        value: flag
            .spec
            .variants
            .get(variant)
            .cloned()
            .unwrap_or(Value::Null),
        reason,
    }
}

/// The rollout bucket of `user_id` for flag `key`, in `0..10_000`.
///
/// SHA-256 of `key + "\0" + user_id`, first 8 bytes as a big-endian `u64`,
/// modulo 10,000. Public so other implementations (mobile SDKs) can match it;
/// the key is mixed in so a user is not in the first 10 % of every flag.
pub fn rollout_bucket(key: &str, user_id: &str) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update([0u8]);
    hasher.update(user_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The remainder is below 10,000, so the narrowing cast is lossless.
    (u64::from_be_bytes(first) % u64::from(TOTAL_WEIGHT)) as u32
}

/// Picks the variant name and reason; borrowing keeps the hot path allocation-free.
fn decide<'a>(flag: &'a StoredFlag, ctx: &EvaluationContext) -> (&'a str, Reason) {
    let spec = &flag.spec;
    if flag.deleted {
        return (spec.effective_off_variant(), Reason::Deleted);
    }
    if !spec.enabled {
        return (spec.effective_off_variant(), Reason::Disabled);
    }
    let default = spec.default_variant.as_str();
    for (index, rule) in spec.rules.iter().enumerate() {
        if !rule.conditions.iter().all(|c| holds(c, ctx)) {
            continue;
        }
        return match &rule.serve {
            Serve::Variant { variant } => (variant, Reason::RuleMatch { index }),
            Serve::Rollout { buckets } => match ctx.user() {
                None => (default, Reason::NoUserForRollout { index }),
                Some(user) => {
                    let bucket = rollout_bucket(flag.key.as_str(), user);
                    let variant = pick(buckets, bucket).unwrap_or(default);
                    (variant, Reason::RuleMatch { index })
                }
            },
        };
    }
    (default, Reason::Default)
}

/// Buckets own consecutive ranges of `0..10_000` in list order; growing a
/// bucket at either end of the list therefore only adds users to it.
fn pick(buckets: &[Bucket], bucket: u32) -> Option<&str> {
    let mut upper: u32 = 0;
    for b in buckets {
        upper = upper.saturating_add(b.weight);
        if bucket < upper {
            return Some(&b.variant);
        }
    }
    // Weights short of 10,000 (unvalidated spec): the remainder goes to the last bucket.
    buckets.last().map(|b| b.variant.as_str())
}

/// Whether one condition holds; anything it needs but lacks makes it false.
fn holds(condition: &Condition, ctx: &EvaluationContext) -> bool {
    match condition {
        Condition::UserIn { user_ids } => ctx.user().is_some_and(|u| user_ids.contains(u)),
        Condition::UserNotIn { user_ids } => ctx.user().is_some_and(|u| !user_ids.contains(u)),
        Condition::Attribute {
            attribute,
            op,
            values,
        } => {
            let Some(actual) = ctx.attributes.get(attribute) else {
                return false;
            };
            match op {
                // `eq`/`neq` carry exactly one value once validated, so they
                // coincide with `in`/`not_in`.
                AttributeOp::Eq | AttributeOp::In => values.contains(actual),
                AttributeOp::Neq | AttributeOp::NotIn => !values.contains(actual),
                AttributeOp::SemverGte | AttributeOp::SemverLt => {
                    let operand = values.first().and_then(|v| Version::parse(v).ok());
                    match (parse_client_version(actual), operand) {
                        (Some(have), Some(want)) if *op == AttributeOp::SemverGte => have >= want,
                        (Some(have), Some(want)) => have < want,
                        _ => false,
                    }
                }
            }
        }
    }
}

/// Parses a version a client reports, leniently: `v2.3`, `2.3` and `2` read as
/// `2.3.0` / `2.0.0`, since app stores do not enforce three components.
/// Rule operands stay strict (checked by `validate`).
fn parse_client_version(raw: &str) -> Option<Version> {
    let raw = raw.trim();
    let raw = raw.strip_prefix('v').unwrap_or(raw);
    if let Ok(version) = Version::parse(raw) {
        return Some(version);
    }
    let split = raw.find(['-', '+']).unwrap_or(raw.len());
    let (core, rest) = raw.split_at(split);
    let padding = match core.split('.').count() {
        1 => ".0.0",
        2 => ".0",
        _ => return None,
    };
    Version::parse(&format!("{core}{padding}{rest}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_versions_are_read_leniently() {
        let v = |s| parse_client_version(s).map(|v| v.to_string());
        assert_eq!(v("2.3.1").as_deref(), Some("2.3.1"));
        assert_eq!(v("v2.3").as_deref(), Some("2.3.0"));
        assert_eq!(v("2").as_deref(), Some("2.0.0"));
        assert_eq!(v("2.3-beta.1").as_deref(), Some("2.3.0-beta.1"));
        assert_eq!(v("latest"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn bucket_matches_the_documented_hash() {
        // Pinned (computed independently with Python's hashlib) so a change to
        // the hashing, which would reshuffle every rollout in production and
        // break SDK parity, fails loudly.
        assert_eq!(rollout_bucket("chat.new_composer", "user-1"), 5359);
        // The NUL separator keeps ("a", "bc") and ("ab", "c") apart.
        assert_eq!(rollout_bucket("a", "bc"), 7297);
        assert_eq!(rollout_bucket("ab", "c"), 5165);
    }
}
