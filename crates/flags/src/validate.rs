//! Content checks for a [`FlagSpec`], reporting every problem with its path.
//!
//! Decoding (serde) only guarantees shape. [`validate`] enforces the limits
//! below and cross-references (every variant a rule names exists, weights add
//! up), and it never stops at the first problem: an admin fixing a flag in a UI
//! sees all of them at once, each at a JSON-like path such as
//! `rules[2].serve.buckets`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{FlagError, Violation};
use crate::model::{AttributeOp, Condition, FlagKind, FlagSpec, Rule, Serve};

/// Longest `description` (flag or rule), in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Most variants a flag may have.
pub const MAX_VARIANTS: usize = 64;
/// Longest variant name, in characters (`^[a-z0-9][a-z0-9_-]{0,63}$`).
pub const MAX_VARIANT_NAME_LEN: usize = 64;
/// Largest value of a `string` flag, in bytes of UTF-8.
pub const MAX_STRING_VALUE_BYTES: usize = 4 * 1024;
/// Largest value of a `json` flag, in bytes once serialized.
pub const MAX_JSON_VALUE_BYTES: usize = 32 * 1024;
/// Most rules a flag may have.
pub const MAX_RULES: usize = 100;
/// Most conditions in one rule.
pub const MAX_CONDITIONS_PER_RULE: usize = 32;
/// Most ids in one `user_in` / `user_not_in` list.
pub const MAX_USER_IDS: usize = 10_000;
/// Longest user id in a list, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;
/// Longest attribute name (`[a-z_]{1,64}`).
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 64;
/// Most operands of one attribute condition.
pub const MAX_ATTRIBUTE_VALUES: usize = 1_000;
/// Longest attribute operand, in bytes.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 256;
/// What the weights of a rollout must add up to: 100 % in basis points.
pub const TOTAL_WEIGHT: u32 = 10_000;

/// Checks a spec's content; on failure the error lists every problem found.
pub fn validate(spec: &FlagSpec) -> Result<(), FlagError> {
    let mut check = Checker::default();
    check.spec(spec);
    if check.violations.is_empty() {
        Ok(())
    } else {
        Err(FlagError::Invalid(check.violations))
    }
}

/// Decodes an admin's JSON body and validates it: the one call a REST edge needs.
pub fn parse_spec(json: &[u8]) -> Result<FlagSpec, FlagError> {
    let spec: FlagSpec =
        serde_json::from_slice(json).map_err(|e| FlagError::Malformed(e.to_string()))?;
    validate(&spec)?;
    Ok(spec)
}

/// Whether `name` matches `^[a-z0-9][a-z0-9_-]{0,63}$`.
pub fn is_valid_variant_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.len() <= MAX_VARIANT_NAME_LEN
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// Whether `name` matches `^[a-z_]{1,64}$`.
pub fn is_valid_attribute_name(name: &str) -> bool {
    (1..=MAX_ATTRIBUTE_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Accumulates violations while walking a spec.
#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.violations.push(Violation::new(path, message));
    }

    fn spec(&mut self, spec: &FlagSpec) {
        self.description("description", &spec.description);
        let n = spec.variants.len();
        if n == 0 {
            self.fail("variants", "at least one variant is required");
        } else if n > MAX_VARIANTS {
            self.fail(
                "variants",
                format!("at most {MAX_VARIANTS} variants, got {n}"),
            );
        }
        for (name, value) in &spec.variants {
            let path = variant_path(name);
            if !is_valid_variant_name(name) {
                self.fail(&path, "variant name must match ^[a-z0-9][a-z0-9_-]{0,63}$");
            }
            if let Err(message) = check_value(spec.kind, value) {
                self.fail(path, message);
            }
        }
        self.variant_ref(spec, "default_variant", &spec.default_variant);
        if let Some(off) = &spec.off_variant {
            self.variant_ref(spec, "off_variant", off);
        }
        if spec.rules.len() > MAX_RULES {
            let got = spec.rules.len();
            self.fail("rules", format!("at most {MAX_RULES} rules, got {got}"));
        }
        for (i, rule) in spec.rules.iter().enumerate() {
            self.rule(spec, &format!("rules[{i}]"), rule);
        }
    }

    fn description(&mut self, path: &str, text: &str) {
        let chars = text.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            let limit = MAX_DESCRIPTION_CHARS;
            self.fail(path, format!("at most {limit} characters, got {chars}"));
        }
    }

    fn variant_ref(&mut self, spec: &FlagSpec, path: &str, name: &str) {
        if !spec.variants.contains_key(name) {
            self.fail(path, format!("unknown variant {name:?}"));
        }
    }

    fn rule(&mut self, spec: &FlagSpec, path: &str, rule: &Rule) {
        if let Some(text) = &rule.description {
            self.description(&format!("{path}.description"), text);
        }
        let n = rule.conditions.len();
        if n > MAX_CONDITIONS_PER_RULE {
            let limit = MAX_CONDITIONS_PER_RULE;
            self.fail(
                format!("{path}.conditions"),
                format!("at most {limit} conditions, got {n}"),
            );
        }
        for (j, condition) in rule.conditions.iter().enumerate() {
            self.condition(&format!("{path}.conditions[{j}]"), condition);
        }
        self.serve(spec, &format!("{path}.serve"), &rule.serve);
    }

    fn condition(&mut self, path: &str, condition: &Condition) {
        match condition {
            Condition::UserIn { user_ids } | Condition::UserNotIn { user_ids } => {
                let path = format!("{path}.user_ids");
                match user_ids.len() {
                    0 => self.fail(&path, "at least one user id is required"),
                    n if n > MAX_USER_IDS => {
                        self.fail(&path, format!("at most {MAX_USER_IDS} user ids, got {n}"));
                    }
                    _ => {}
                }
                for id in user_ids {
                    if id.is_empty() || id.len() > MAX_USER_ID_BYTES {
                        let limit = MAX_USER_ID_BYTES;
                        self.fail(&path, format!("user id {id:?} must be 1 to {limit} bytes"));
                    }
                }
            }
            Condition::Attribute {
                attribute,
                op,
                values,
            } => {
                if !is_valid_attribute_name(attribute) {
                    self.fail(
                        format!("{path}.attribute"),
                        "attribute name must match ^[a-z_]{1,64}$",
                    );
                }
                self.operands(&format!("{path}.values"), *op, values);
            }
        }
    }

    fn operands(&mut self, path: &str, op: AttributeOp, values: &[String]) {
        let n = values.len();
        let single = !matches!(op, AttributeOp::In | AttributeOp::NotIn);
        if single && n != 1 {
            self.fail(
                path,
                format!("operator {} takes exactly one value, got {n}", op.as_str()),
            );
        } else if n == 0 {
            self.fail(path, "at least one value is required");
        } else if n > MAX_ATTRIBUTE_VALUES {
            self.fail(
                path,
                format!("at most {MAX_ATTRIBUTE_VALUES} values, got {n}"),
            );
        }
        for (k, value) in values.iter().enumerate() {
            if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
                let limit = MAX_ATTRIBUTE_VALUE_BYTES;
                self.fail(
                    format!("{path}[{k}]"),
                    format!("at most {limit} bytes, got {}", value.len()),
                );
            } else if op.is_semver()
                && let Err(err) = semver::Version::parse(value)
            {
                self.fail(
                    format!("{path}[{k}]"),
                    format!("{value:?} is not a semantic version: {err}"),
                );
            }
        }
    }

    fn serve(&mut self, spec: &FlagSpec, path: &str, serve: &Serve) {
        match serve {
            Serve::Variant { variant } => {
                self.variant_ref(spec, &format!("{path}.variant"), variant);
            }
            Serve::Rollout { buckets } => {
                let path = format!("{path}.buckets");
                if buckets.is_empty() {
                    self.fail(&path, "at least one bucket is required");
                }
                let mut seen = BTreeSet::new();
                let mut sum: u64 = 0;
                for (k, bucket) in buckets.iter().enumerate() {
                    let at = format!("{path}[{k}].variant");
                    self.variant_ref(spec, &at, &bucket.variant);
                    if !seen.insert(bucket.variant.as_str()) {
                        self.fail(
                            at,
                            format!(
                                "variant {:?} appears in more than one bucket",
                                bucket.variant
                            ),
                        );
                    }
                    sum += u64::from(bucket.weight);
                }
                if !buckets.is_empty() && sum != u64::from(TOTAL_WEIGHT) {
                    self.fail(
                        path,
                        format!("weights sum to {sum}, expected {TOTAL_WEIGHT}"),
                    );
                }
            }
        }
    }
}

/// `variants.beta` for a plausible name, `variants["Bad Name"]` otherwise.
fn variant_path(name: &str) -> String {
    if is_valid_variant_name(name) {
        format!("variants.{name}")
    } else {
        format!("variants[{name:?}]")
    }
}

/// Checks that one variant value has the flag's kind and fits its size limit.
fn check_value(kind: FlagKind, value: &Value) -> Result<(), String> {
    let expected = kind.as_str();
    match (kind, value) {
        (FlagKind::Boolean, Value::Bool(_)) => Ok(()),
        (FlagKind::String, Value::String(s)) if s.len() <= MAX_STRING_VALUE_BYTES => Ok(()),
        (FlagKind::String, Value::String(s)) => Err(format!(
            "string value is {} bytes, limit {MAX_STRING_VALUE_BYTES}",
            s.len()
        )),
        (FlagKind::Number, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => Ok(()),
        (FlagKind::Json, value) => {
            // Serializing a `Value` cannot fail; treat the impossible as oversize.
            let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
            if size <= MAX_JSON_VALUE_BYTES {
                Ok(())
            } else {
                Err(format!(
                    "json value is {size} bytes serialized, limit {MAX_JSON_VALUE_BYTES}"
                ))
            }
        }
        (_, other) => Err(format!(
            "expected a {expected} value, got {}",
            json_type(other)
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
