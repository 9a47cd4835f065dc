//! `validate` rejects each bad input at its path, and reports all of them.

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_flags::{FlagError, FlagKey, FlagSpec, Violation, validate};
use serde_json::{Value, json};

use crate::support::raw_spec;

/// A valid boolean spec to break one field at a time.
fn base() -> Value {
    json!({
        "kind": "boolean",
        "variants": {"on": true, "off": false},
        "default_variant": "off",
        "enabled": true,
        "rules": [],
    })
}

fn violations(json: Value) -> Vec<Violation> {
    let spec: FlagSpec = raw_spec(json);
    let err = validate(&spec).expect_err("spec should be invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    err.violations().to_vec()
}

/// Asserts exactly one violation, at `path`, whose message contains `needle`.
fn rejects(json: Value, path: &str, needle: &str) {
    let found = violations(json);
    assert_eq!(found.len(), 1, "expected one violation, got {found:?}");
    assert_eq!(found[0].path, path, "{found:?}");
    assert!(
        found[0].message.contains(needle),
        "{:?} lacks {needle:?}",
        found[0].message
    );
}

fn with_rule(rule: Value) -> Value {
    let mut spec = base();
    spec["rules"] = json!([rule]);
    spec
}

fn serve_on() -> Value {
    json!({"type": "variant", "variant": "on"})
}

#[test]
fn base_is_valid() {
    validate(&raw_spec(base())).expect("valid");
}

#[test]
fn bad_key() {
    let err = "Chat".parse::<FlagKey>().expect_err("uppercase");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().starts_with("invalid flag key \"Chat\""),
        "{err}"
    );
}

#[test]
fn too_many_variants() {
    let mut spec = base();
    spec["variants"] = (0..65)
        .map(|i| (format!("v{i}"), json!(i % 2 == 0)))
        .collect();
    spec["default_variant"] = json!("v0");
    rejects(spec, "variants", "at most 64 variants, got 65");
}

#[test]
fn no_variants() {
    let mut spec = base();
    spec["variants"] = json!({});
    let found = violations(spec);
    assert_eq!(found[0].path, "variants");
    assert_eq!(found[1].path, "default_variant");
}

#[test]
fn bad_variant_name() {
    let mut spec = base();
    spec["variants"]["Big Bang"] = json!(true);
    rejects(spec, "variants[\"Big Bang\"]", "must match");
}

#[test]
fn kind_mismatch() {
    let mut spec = base();
    spec["variants"]["on"] = json!("yes");
    rejects(spec, "variants.on", "expected a boolean value, got string");

    let number = json!({"kind": "number", "variants": {"a": 1.5, "b": "2"}, "default_variant": "a", "enabled": true});
    rejects(number, "variants.b", "expected a number value, got string");
}

#[test]
fn oversize_values() {
    let big_string = json!({"kind": "string", "variants": {"a": "x".repeat(4097)}, "default_variant": "a", "enabled": true});
    rejects(big_string, "variants.a", "4097 bytes, limit 4096");

    let at_limit = json!({"kind": "string", "variants": {"a": "x".repeat(4096)}, "default_variant": "a", "enabled": true});
    validate(&raw_spec(at_limit)).expect("4 KiB string is fine");

    let big_json = json!({"kind": "json", "variants": {"big": {"blob": "x".repeat(33_000)}}, "default_variant": "big", "enabled": true});
    rejects(big_json, "variants.big", "limit 32768");
}

#[test]
fn missing_default_and_off_variant() {
    let mut spec = base();
    spec["default_variant"] = json!("maybe");
    rejects(spec, "default_variant", "unknown variant \"maybe\"");

    let mut spec = base();
    spec["off_variant"] = json!("gone");
    rejects(spec, "off_variant", "unknown variant \"gone\"");
}

#[test]
fn weights_must_sum_to_10000() {
    let mut spec = base();
    let ok = json!({"serve": serve_on()});
    let short = json!({"serve": {"type": "rollout", "buckets": [
        {"variant": "on", "weight": 1000}, {"variant": "off", "weight": 8000}]}});
    spec["rules"] = json!([ok, ok, short]);
    let found = violations(spec);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].to_string(),
        "rules[2].serve.buckets: weights sum to 9000, expected 10000"
    );
}

#[test]
fn bucket_problems() {
    rejects(
        with_rule(json!({"serve": {"type": "rollout", "buckets": []}})),
        "rules[0].serve.buckets",
        "at least one bucket",
    );
    rejects(
        with_rule(json!({"serve": {"type": "rollout", "buckets": [
                {"variant": "on", "weight": 5000}, {"variant": "on", "weight": 5000}]}})),
        "rules[0].serve.buckets[1].variant",
        "more than one bucket",
    );
    rejects(
        with_rule(json!({"serve": {"type": "rollout", "buckets": [
                {"variant": "on", "weight": 5000}, {"variant": "nope", "weight": 5000}]}})),
        "rules[0].serve.buckets[1].variant",
        "unknown variant \"nope\"",
    );
}

#[test]
fn unknown_variant_in_rule() {
    rejects(
        with_rule(json!({"serve": {"type": "variant", "variant": "blue"}})),
        "rules[0].serve.variant",
        "unknown variant \"blue\"",
    );
}

#[test]
fn bad_semver() {
    let rule = json!({"conditions": [{"type": "attribute", "attribute": "app_version",
                                      "op": "semver_lt", "values": ["2.x"]}], "serve": serve_on()});
    rejects(
        with_rule(rule),
        "rules[0].conditions[0].values[0]",
        "\"2.x\" is not a semantic version",
    );
}

#[test]
fn operand_counts_and_attribute_names() {
    let cond = |attribute: &str, op: &str, values: Value| {
        with_rule(
            json!({"conditions": [{"type": "attribute", "attribute": attribute, "op": op, "values": values}],
                         "serve": serve_on()}),
        )
    };
    rejects(
        cond("platform", "eq", json!(["ios", "android"])),
        "rules[0].conditions[0].values",
        "operator eq takes exactly one value, got 2",
    );
    rejects(
        cond("platform", "in", json!([])),
        "rules[0].conditions[0].values",
        "at least one value",
    );
    rejects(
        cond("Platform", "eq", json!(["ios"])),
        "rules[0].conditions[0].attribute",
        "must match",
    );
    rejects(
        cond(&"a".repeat(65), "eq", json!(["ios"])),
        "rules[0].conditions[0].attribute",
        "must match",
    );
    rejects(
        cond("platform", "eq", json!(["x".repeat(257)])),
        "rules[0].conditions[0].values[0]",
        "at most 256 bytes",
    );
}

#[test]
fn user_lists() {
    let list = |ids: Value| {
        with_rule(
            json!({"conditions": [{"type": "user_not_in", "user_ids": ids}], "serve": serve_on()}),
        )
    };
    rejects(
        list(json!([])),
        "rules[0].conditions[0].user_ids",
        "at least one user id",
    );
    rejects(
        list(json!([""])),
        "rules[0].conditions[0].user_ids",
        "must be 1 to 256 bytes",
    );
    let many: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
    rejects(
        list(json!(many)),
        "rules[0].conditions[0].user_ids",
        "at most 10000 user ids, got 10001",
    );
    let max: Vec<String> = (0..10_000).map(|i| format!("u{i}")).collect();
    validate(&raw_spec(list(json!(max)))).expect("10,000 ids are allowed");
}

#[test]
fn size_limits_on_rules_and_descriptions() {
    let mut spec = base();
    spec["rules"] = json!(vec![json!({"serve": serve_on()}); 101]);
    rejects(spec, "rules", "at most 100 rules, got 101");

    let mut spec = base();
    spec["description"] = json!("é".repeat(1001));
    rejects(spec, "description", "at most 1000 characters, got 1001");
    let mut spec = base();
    spec["description"] = json!("é".repeat(1000));
    validate(&raw_spec(spec)).expect("1,000 multi-byte characters are allowed");

    rejects(
        with_rule(json!({"description": "d".repeat(1001), "serve": serve_on()})),
        "rules[0].description",
        "at most 1000 characters",
    );
    let conditions = vec![json!({"type": "user_in", "user_ids": ["a"]}); 33];
    rejects(
        with_rule(json!({"conditions": conditions, "serve": serve_on()})),
        "rules[0].conditions",
        "at most 32 conditions, got 33",
    );
}

#[test]
fn reports_every_problem_at_once() {
    let spec = json!({
        "kind": "boolean",
        "variants": {"on": true, "off": "no"},
        "default_variant": "maybe",
        "enabled": true,
        "rules": [
            {"serve": {"type": "variant", "variant": "blue"}},
            {"conditions": [{"type": "attribute", "attribute": "app_version", "op": "semver_gte", "values": ["one"]}],
             "serve": {"type": "rollout", "buckets": [{"variant": "on", "weight": 9000}]}},
        ],
    });
    let err = validate(&raw_spec(spec)).expect_err("invalid");
    let paths: Vec<&str> = err.violations().iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "variants.off",
            "default_variant",
            "rules[0].serve.variant",
            "rules[1].conditions[0].values[0]",
            "rules[1].serve.buckets",
        ]
    );
    assert!(matches!(err, FlagError::Invalid(_)));
}
