//! The flag definition model and its JSON wire format.
//!
//! These types are the REST body of the `config` service and the payload of
//! its change events, so their serde shape is a public contract:
//!
//! - field and enum names are `snake_case`;
//! - input types reject unknown fields (`deny_unknown_fields`), so a typo in an
//!   admin's JSON is an error rather than a silently ignored setting;
//! - sum types are internally tagged by `"type"`:
//!   `{"type": "user_in", "user_ids": [...]}`, `{"type": "rollout", "buckets": [...]}`.
//!
//! Decoding only checks shape; [`validate`](crate::validate) checks content.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::key::FlagKey;

/// Well-known attribute names clients send in an
/// [`EvaluationContext`](crate::EvaluationContext); any `[a-z_]{1,64}` name works too.
pub mod attributes {
    /// Client platform, e.g. `ios`, `android`, `web`, `desktop`.
    pub const PLATFORM: &str = "platform";
    /// Client app version, compared with the `semver_*` operators.
    pub const APP_VERSION: &str = "app_version";
    /// ISO 3166-1 alpha-2 country code, e.g. `DE`.
    pub const COUNTRY: &str = "country";
}

/// The type every variant value of a flag must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// `true` / `false`.
    Boolean,
    /// A JSON string of at most 4 KiB.
    String,
    /// A finite JSON number.
    Number,
    /// Any JSON value of at most 32 KiB serialized.
    Json,
}

impl FlagKind {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
            Self::Json => "json",
        }
    }
}

/// What an admin submits: the complete definition of one flag.
///
/// Evaluation order: a disabled flag serves `off_variant` (or `default_variant`
/// when unset); an enabled flag walks `rules` in order and the first rule whose
/// conditions all hold decides; if none does, `default_variant` is served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    /// Free text for humans, at most 1,000 characters.
    #[serde(default)]
    pub description: String,
    /// The type of every variant value.
    pub kind: FlagKind,
    /// Variant name (`^[a-z0-9][a-z0-9_-]{0,63}$`) to value; 1 to 64 entries.
    pub variants: BTreeMap<String, Value>,
    /// Served when the flag is enabled and no rule matches.
    pub default_variant: String,
    /// Served while the flag is disabled; `default_variant` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_variant: Option<String>,
    /// Kill switch: `false` skips every rule.
    pub enabled: bool,
    /// Targeting rules, at most 100, evaluated in order; first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl FlagSpec {
    /// The variant served while the flag is disabled.
    pub fn effective_off_variant(&self) -> &str {
        self.off_variant.as_deref().unwrap_or(&self.default_variant)
    }
}

/// One targeting rule: when every condition holds, `serve` decides the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Free text for humans, at most 1,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// All must hold (logical AND); an empty list always matches.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What a matching rule serves.
    pub serve: Serve,
}

/// A test on the evaluation context. Tagged by `"type"`.
///
/// Every condition is false when what it tests is absent: `user_in`,
/// `user_not_in` need a user id, and `attribute` needs the attribute — even for
/// `neq` / `not_in`, so "not on iOS" never targets clients that did not say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The user id is in the list (allow list, at most 10,000 ids).
    UserIn {
        /// The allowed ids; duplicates collapse.
        user_ids: BTreeSet<String>,
    },
    /// There is a user id and it is not in the list (deny list, at most 10,000 ids).
    UserNotIn {
        /// The denied ids; duplicates collapse.
        user_ids: BTreeSet<String>,
    },
    /// Compares one context attribute with `values` using `op`.
    Attribute {
        /// Attribute name, `[a-z_]{1,64}`, e.g. `platform`.
        attribute: String,
        /// How to compare.
        op: AttributeOp,
        /// Operands: exactly one for `eq`, `neq` and the semver operators, at least one for `in`/`not_in`.
        values: Vec<String>,
    },
}

/// Comparison operators for [`Condition::Attribute`]. Strings compare exactly (case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeOp {
    /// Equal to the single value.
    Eq,
    /// Present and different from the single value.
    Neq,
    /// Equal to one of the values.
    In,
    /// Present and equal to none of the values.
    NotIn,
    /// A semantic version at or above the single value.
    SemverGte,
    /// A semantic version strictly below the single value.
    SemverLt,
}

impl AttributeOp {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Neq => "neq",
            Self::In => "in",
            Self::NotIn => "not_in",
            Self::SemverGte => "semver_gte",
            Self::SemverLt => "semver_lt",
        }
    }

    /// Whether the operands (and the context value) are semantic versions.
    pub fn is_semver(self) -> bool {
        matches!(self, Self::SemverGte | Self::SemverLt)
    }
}

/// What a matching rule serves. Tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Serve {
    /// Always this variant.
    Variant {
        /// Name of an existing variant.
        variant: String,
    },
    /// A percentage split by a stable hash of (flag key, user id).
    ///
    /// Buckets take consecutive ranges of `0..10_000` in list order, so growing
    /// the first (or last) bucket keeps everyone already in it.
    Rollout {
        /// Weights in basis points, summing to exactly 10,000.
        buckets: Vec<Bucket>,
    },
}

/// One slice of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// Name of an existing variant.
    pub variant: String,
    /// Share in basis points: 2,500 is 25 %.
    pub weight: u32,
}

/// A flag as the store keeps it and as change events carry it.
///
/// Not an input type, so unknown top-level fields are tolerated: a consumer
/// running an older build still decodes envelopes from a newer `config` service.
/// (`spec` stays strict, so new `FlagSpec` fields need consumers upgraded first.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredFlag {
    /// The flag's name.
    pub key: FlagKey,
    /// The definition in force at `version`.
    pub spec: FlagSpec,
    /// Increases with every write to this key, deletes included.
    pub version: u64,
    /// When this version was written, milliseconds since the Unix epoch.
    pub updated_at_ms: i64,
    /// Who wrote this version (an admin user id or a service name).
    pub updated_by: String,
    /// A tombstone: the flag was deleted at `version`.
    #[serde(default)]
    pub deleted: bool,
}
