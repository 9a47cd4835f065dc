//! Evaluation semantics: ordering, targeting, rollouts and the kill switch.

use chatflow_flags::{EvaluationContext, Reason, StoredFlag, evaluate, rollout_bucket};
use serde_json::{Value, json};

use crate::support::{bool_flag, spec, stored};

fn rollout(on: u32) -> Value {
    json!([{"serve": {"type": "rollout", "buckets": [
        {"variant": "on", "weight": on}, {"variant": "off", "weight": 10_000 - on}]}}])
}

fn user(id: &str) -> EvaluationContext {
    EvaluationContext::for_user(id)
}

fn variant(flag: &StoredFlag, ctx: &EvaluationContext) -> String {
    evaluate(flag, ctx).variant
}

fn attr_rule(attribute: &str, op: &str, values: Value) -> Value {
    json!([{"conditions": [{"type": "attribute", "attribute": attribute, "op": op, "values": values}],
            "serve": {"type": "variant", "variant": "on"}}])
}

#[test]
fn same_input_same_output() {
    let flag = bool_flag("chat.x", rollout(5_000));
    for i in 0..200 {
        let ctx = user(&format!("user-{i}"));
        let first = evaluate(&flag, &ctx);
        for _ in 0..3 {
            assert_eq!(evaluate(&flag, &ctx), first);
        }
        assert_eq!(evaluate(&flag.clone(), &ctx.clone()), first);
    }
}

#[test]
fn rollout_distribution_is_within_one_percent() {
    let flag = bool_flag("chat.distribution", rollout(2_500));
    let n = 100_000;
    let on = (0..n)
        .filter(|i| variant(&flag, &user(&format!("user-{i}"))) == "on")
        .count();
    let share = on as f64 / n as f64;
    assert!((share - 0.25).abs() <= 0.01, "on share {share}");
}

#[test]
fn raising_a_rollout_keeps_everyone_who_was_in() {
    let at_10 = bool_flag("chat.ramp", rollout(1_000));
    let at_20 = bool_flag("chat.ramp", rollout(2_000));
    let mut was_in = 0;
    for i in 0..20_000 {
        let ctx = user(&format!("u{i}"));
        if variant(&at_10, &ctx) == "on" {
            was_in += 1;
            assert_eq!(
                variant(&at_20, &ctx),
                "on",
                "u{i} dropped out when ramping up"
            );
        }
    }
    assert!(was_in > 1_500, "sanity: about 10 % were in, got {was_in}");
}

#[test]
fn the_bucket_formula_is_the_documented_one() {
    let flag = bool_flag("chat.formula", rollout(2_500));
    for i in 0..500 {
        let id = format!("u{i}");
        let expected = if rollout_bucket("chat.formula", &id) < 2_500 {
            "on"
        } else {
            "off"
        };
        assert_eq!(variant(&flag, &user(&id)), expected);
    }
}

#[test]
fn allow_list_beats_later_rules() {
    let flag = bool_flag(
        "chat.allow",
        json!([
            {"conditions": [{"type": "user_in", "user_ids": ["alice"]}], "serve": {"type": "variant", "variant": "on"}},
            {"serve": {"type": "variant", "variant": "off"}},
        ]),
    );
    let alice = evaluate(&flag, &user("alice"));
    assert_eq!((alice.variant.as_str(), alice.value), ("on", json!(true)));
    assert_eq!(alice.reason, Reason::RuleMatch { index: 0 });
    let bob = evaluate(&flag, &user("bob"));
    assert_eq!(
        (bob.variant.as_str(), bob.reason),
        ("off", Reason::RuleMatch { index: 1 })
    );
}

#[test]
fn deny_list_needs_a_user_and_excludes_listed_ones() {
    let flag = bool_flag(
        "chat.deny",
        json!([
            {"conditions": [{"type": "user_not_in", "user_ids": ["mallory"]}], "serve": {"type": "variant", "variant": "on"}},
        ]),
    );
    assert_eq!(variant(&flag, &user("alice")), "on");
    let mallory = evaluate(&flag, &user("mallory"));
    assert_eq!(
        (mallory.variant.as_str(), mallory.reason),
        ("off", Reason::Default)
    );
    assert_eq!(
        variant(&flag, &EvaluationContext::default()),
        "off",
        "anonymous is not 'not in'"
    );
}

#[test]
fn semver_operators() {
    let gte = bool_flag(
        "chat.gte",
        attr_rule("app_version", "semver_gte", json!(["2.3.0"])),
    );
    let lt = bool_flag(
        "chat.lt",
        attr_rule("app_version", "semver_lt", json!(["2.3.0"])),
    );
    let cases = [
        ("2.3.0", true),
        ("2.10.1", true),
        ("3", true),
        ("v2.3", true),
        ("2.2.9", false),
        ("2.3.0-beta.1", false),
        ("1.99.99", false),
    ];
    for (version, at_least) in cases {
        let ctx = user("u").with_attribute("app_version", version);
        assert_eq!(variant(&gte, &ctx) == "on", at_least, "{version} >= 2.3.0");
        assert_eq!(variant(&lt, &ctx) == "on", !at_least, "{version} < 2.3.0");
    }
    // Unparsable or missing versions match neither side.
    for ctx in [
        user("u").with_attribute("app_version", "nightly"),
        user("u"),
    ] {
        assert_eq!(variant(&gte, &ctx), "off");
        assert_eq!(variant(&lt, &ctx), "off");
    }
}

#[test]
fn attribute_operators_and_missing_attributes() {
    let ios = user("u").with_attribute("platform", "ios");
    let web = user("u").with_attribute("platform", "web");
    let none = user("u").with_attribute("country", "DE");
    let cases = [
        ("eq", json!(["ios"]), [true, false, false]),
        ("neq", json!(["ios"]), [false, true, false]),
        ("in", json!(["ios", "android"]), [true, false, false]),
        ("not_in", json!(["ios", "android"]), [false, true, false]),
    ];
    for (op, values, expected) in cases {
        let flag = bool_flag("chat.attr", attr_rule("platform", op, values));
        let got = [&ios, &web, &none].map(|ctx| variant(&flag, ctx) == "on");
        assert_eq!(got, expected, "op {op} over [ios, web, missing]");
    }
    let case_sensitive = bool_flag("chat.case", attr_rule("platform", "eq", json!(["ios"])));
    assert_eq!(
        variant(
            &case_sensitive,
            &user("u").with_attribute("platform", "iOS")
        ),
        "off"
    );
}

#[test]
fn all_conditions_must_hold() {
    let flag = bool_flag(
        "chat.and",
        json!([{"conditions": [
        {"type": "attribute", "attribute": "platform", "op": "eq", "values": ["ios"]},
        {"type": "attribute", "attribute": "country", "op": "in", "values": ["DE", "FR"]},
    ], "serve": {"type": "variant", "variant": "on"}}]),
    );
    let both = user("u")
        .with_attribute("platform", "ios")
        .with_attribute("country", "FR");
    let one = user("u")
        .with_attribute("platform", "ios")
        .with_attribute("country", "US");
    assert_eq!(variant(&flag, &both), "on");
    assert_eq!(variant(&flag, &one), "off");
}

#[test]
fn disabled_and_deleted_flags_skip_rules() {
    let rules = json!([{"serve": {"type": "variant", "variant": "on"}}]);
    let mut flag = bool_flag("chat.kill", rules.clone());
    flag.spec.enabled = false;
    let off = evaluate(&flag, &user("alice"));
    assert_eq!(
        (off.variant.as_str(), off.reason),
        ("off", Reason::Disabled)
    );

    let with_off_variant = stored(
        "chat.kill",
        spec(json!({
            "kind": "string", "variants": {"a": "A", "b": "B", "dark": ""},
            "default_variant": "a", "off_variant": "dark", "enabled": false,
            "rules": [{"serve": {"type": "variant", "variant": "b"}}],
        })),
        1,
    );
    let dark = evaluate(&with_off_variant, &user("alice"));
    assert_eq!(
        (dark.variant.as_str(), dark.value, dark.reason),
        ("dark", json!(""), Reason::Disabled)
    );

    let mut tombstone = bool_flag("chat.kill", rules);
    tombstone.deleted = true;
    let gone = evaluate(&tombstone, &user("alice"));
    assert_eq!(
        (gone.variant.as_str(), gone.reason),
        ("off", Reason::Deleted)
    );
}

#[test]
fn rollout_without_user_serves_default_and_says_why() {
    let flag = bool_flag(
        "chat.anon",
        json!([
            {"conditions": [{"type": "user_in", "user_ids": ["vip"]}], "serve": {"type": "variant", "variant": "on"}},
            {"serve": {"type": "rollout", "buckets": [{"variant": "on", "weight": 10000}]}},
        ]),
    );
    for ctx in [EvaluationContext::default(), user("")] {
        let e = evaluate(&flag, &ctx);
        assert_eq!(
            (e.variant.as_str(), e.reason),
            ("off", Reason::NoUserForRollout { index: 1 })
        );
    }
    assert_eq!(
        evaluate(&flag, &user("someone")).reason,
        Reason::RuleMatch { index: 1 }
    );
}

#[test]
fn no_rule_matching_serves_default() {
    let flag = bool_flag("chat.none", attr_rule("platform", "eq", json!(["ios"])));
    let e = evaluate(&flag, &user("u"));
    assert_eq!(
        (e.variant.as_str(), e.value, e.reason),
        ("off", json!(false), Reason::Default)
    );
}
