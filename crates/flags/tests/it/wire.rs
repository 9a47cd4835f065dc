//! The JSON wire format and the OpenAPI schemas the `config` service publishes.

use chatflow_flags::{
    Condition, Evaluation, EvaluationContext, FlagError, FlagSpec, Reason, Serve, StoredFlag,
    Violation, parse_spec,
};
use serde_json::json;

/// A spec using every construct; the shape documented for admins.
pub const FULL_EXAMPLE: &str = r#"{
  "description": "New message composer with rich previews",
  "kind": "json",
  "variants": {
    "off": {"composer": "classic"},
    "rich": {"composer": "rich", "max_attachments": 10},
    "rich-lite": {"composer": "rich", "max_attachments": 3}
  },
  "default_variant": "off",
  "off_variant": "off",
  "enabled": true,
  "rules": [
    {
      "description": "staff and beta testers",
      "conditions": [{"type": "user_in", "user_ids": ["u-beta-7", "u-staff-1"]}],
      "serve": {"type": "variant", "variant": "rich"}
    },
    {
      "description": "recent mobile apps outside the pilot exclusions",
      "conditions": [
        {"type": "user_not_in", "user_ids": ["u-vip-3"]},
        {"type": "attribute", "attribute": "platform", "op": "in", "values": ["ios", "android"]},
        {"type": "attribute", "attribute": "app_version", "op": "semver_gte", "values": ["2.3.0"]},
        {"type": "attribute", "attribute": "country", "op": "neq", "values": ["CN"]}
      ],
      "serve": {"type": "rollout", "buckets": [
        {"variant": "rich", "weight": 2500},
        {"variant": "rich-lite", "weight": 2500},
        {"variant": "off", "weight": 5000}
      ]}
    }
  ]
}"#;

#[test]
fn full_example_parses_validates_and_round_trips() {
    let spec = parse_spec(FULL_EXAMPLE.as_bytes()).expect("valid example");
    assert_eq!(spec.rules.len(), 2);
    assert!(
        matches!(&spec.rules[0].conditions[0], Condition::UserIn { user_ids } if user_ids.len() == 2)
    );
    assert!(matches!(&spec.rules[1].serve, Serve::Rollout { buckets } if buckets.len() == 3));

    // User lists are sets: they come back sorted and deduplicated (the example is already).
    let reencoded = serde_json::to_value(&spec).expect("serializes");
    let original: serde_json::Value = serde_json::from_str(FULL_EXAMPLE).expect("json");
    assert_eq!(reencoded, original, "wire shape is stable");
}

#[test]
fn optional_fields_default_and_are_omitted() {
    let spec: FlagSpec = serde_json::from_value(json!({
        "kind": "boolean", "variants": {"on": true}, "default_variant": "on", "enabled": false,
    }))
    .expect("minimal spec decodes");
    assert_eq!(spec.description, "");
    assert!(spec.rules.is_empty() && spec.off_variant.is_none());
    let out = serde_json::to_value(&spec).expect("serializes");
    assert!(out.get("off_variant").is_none());
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    let bodies = [
        json!({"kind": "boolean", "variants": {"on": true}, "default_variant": "on", "enabled": true, "colour": 1}),
        json!({"kind": "boolean", "variants": {"on": true}, "default_variant": "on", "enabled": true,
               "rules": [{"serve": {"type": "variant", "variant": "on"}, "priority": 1}]}),
        json!({"kind": "boolean", "variants": {"on": true}, "default_variant": "on", "enabled": true,
               "rules": [{"conditions": [{"type": "user_in", "user_ids": ["a"], "extra": true}],
                          "serve": {"type": "variant", "variant": "on"}}]}),
        json!({"kind": "boolean", "variants": {"on": true}, "default_variant": "on", "enabled": true,
               "rules": [{"serve": {"type": "rollout", "buckets": [{"variant": "on", "weight": 10000, "w": 1}]}}]}),
    ];
    for body in bodies {
        let bytes = serde_json::to_vec(&body).expect("json");
        match parse_spec(&bytes) {
            Err(FlagError::Malformed(message)) => {
                assert!(message.contains("unknown field"), "{message}");
            }
            other => panic!("expected Malformed for {body}, got {other:?}"),
        }
    }
}

#[test]
fn malformed_json_and_wrong_types_are_malformed() {
    for body in [
        &b"{"[..],
        br#"{"kind": "boolean"}"#,
        br#"{"kind": "colour", "variants": {}, "default_variant": "a", "enabled": true}"#,
    ] {
        assert!(matches!(parse_spec(body), Err(FlagError::Malformed(_))));
    }
}

#[test]
fn stored_flag_rejects_a_bad_key_on_decode() {
    let spec = parse_spec(FULL_EXAMPLE.as_bytes()).expect("valid");
    let good = json!({"key": "chat.composer", "spec": spec, "version": 3,
                      "updated_at_ms": 1, "updated_by": "admin"});
    let flag: StoredFlag = serde_json::from_value(good.clone()).expect("decodes");
    assert!(!flag.deleted, "deleted defaults to false");
    let mut newer = good.clone();
    newer["added_in_a_later_release"] = json!(1);
    serde_json::from_value::<StoredFlag>(newer).expect("envelope tolerates new fields");

    let mut bad = good;
    bad["key"] = json!("Chat Composer");
    let err = serde_json::from_value::<StoredFlag>(bad).expect_err("bad key");
    assert!(err.to_string().contains("invalid flag key"), "{err}");
}

#[test]
fn evaluation_and_context_shapes() {
    let ctx: EvaluationContext = serde_json::from_value(json!({
        "user_id": "u1", "attributes": {"platform": "ios"}
    }))
    .expect("context decodes");
    assert_eq!(ctx.attributes["platform"], "ios");
    assert!(serde_json::from_value::<EvaluationContext>(json!({"user": "u1"})).is_err());

    let evaluation = Evaluation {
        variant: "on".into(),
        value: json!(true),
        reason: Reason::RuleMatch { index: 2 },
    };
    assert_eq!(
        serde_json::to_value(&evaluation).expect("serializes"),
        json!({"variant": "on", "value": true, "reason": {"type": "rule_match", "index": 2}})
    );
    assert_eq!(
        serde_json::to_value(Reason::NoUserForRollout { index: 0 }).expect("ok"),
        json!({"type": "no_user_for_rollout", "index": 0})
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(FlagSpec, StoredFlag, Evaluation, EvaluationContext, Violation)))]
struct ApiDoc;

#[test]
fn openapi_document_includes_the_flag_schemas() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi serializes");
    let schemas = &doc["components"]["schemas"];
    for name in [
        "FlagSpec",
        "Rule",
        "Condition",
        "Serve",
        "Bucket",
        "FlagKind",
        "AttributeOp",
        "StoredFlag",
        "FlagKey",
        "Evaluation",
        "Reason",
        "EvaluationContext",
        "Violation",
    ] {
        assert!(
            schemas.get(name).is_some(),
            "schema {name} missing: {schemas}"
        );
    }
    assert_eq!(schemas["FlagKey"]["type"], "string");
    assert_eq!(schemas["FlagSpec"]["additionalProperties"], false);
}
