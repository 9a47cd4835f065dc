//! Builders shared by the integration tests; specs are written as wire JSON.

use chatflow_flags::{FlagSpec, StoredFlag, validate};
use serde_json::Value;

/// Decodes a spec from wire JSON and insists it is valid.
pub fn spec(json: Value) -> FlagSpec {
    let spec: FlagSpec = serde_json::from_value(json).expect("spec decodes");
    validate(&spec).expect("spec is valid");
    spec
}

/// Decodes a spec from wire JSON without validating it (for negative tests).
pub fn raw_spec(json: Value) -> FlagSpec {
    serde_json::from_value(json).expect("spec decodes")
}

/// Wraps a spec as version `version` of flag `key`.
pub fn stored(key: &str, spec: FlagSpec, version: u64) -> StoredFlag {
    StoredFlag {
        key: key.parse().expect("valid key"),
        spec,
        version,
        updated_at_ms: 1_700_000_000_000,
        updated_by: "admin-1".into(),
        deleted: false,
    }
}

/// A boolean on/off flag (default `off`, enabled) with the given rules.
pub fn bool_flag(key: &str, rules: Value) -> StoredFlag {
    stored(
        key,
        spec(serde_json::json!({
            "kind": "boolean",
            "variants": {"on": true, "off": false},
            "default_variant": "off",
            "enabled": true,
            "rules": rules,
        })),
        1,
    )
}
