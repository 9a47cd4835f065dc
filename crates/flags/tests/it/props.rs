//! Property tests: any valid spec evaluates, without panicking, to one of its variants.

use std::collections::BTreeMap;

use chatflow_flags::{EvaluationContext, FlagKind, FlagSpec, evaluate, validate};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::stored;

const ATTRIBUTES: [&str; 4] = ["platform", "app_version", "country", "org_tier"];
const VALUES: [&str; 6] = ["ios", "web", "DE", "1.2.3", "2.0.0", "gold"];
const USERS: [&str; 4] = ["u1", "u2", "u3", "u4"];

fn kind_and_value() -> impl Strategy<Value = (FlagKind, BoxedStrategy<Value>)> {
    prop_oneof![
        Just((
            FlagKind::Boolean,
            any::<bool>().prop_map(Value::from).boxed()
        )),
        Just((
            FlagKind::String,
            "[a-z ]{0,16}".prop_map(Value::from).boxed()
        )),
        Just((
            FlagKind::Number,
            (-1e9f64..1e9).prop_map(|n| json!(n)).boxed()
        )),
        Just((
            FlagKind::Json,
            prop::collection::vec(any::<i32>(), 0..4)
                .prop_map(|v| json!({"v": v}))
                .boxed()
        )),
    ]
}

fn condition() -> impl Strategy<Value = Value> {
    let users = prop::collection::btree_set(prop::sample::select(&USERS[..]), 1..3);
    prop_oneof![
        users.clone().prop_map(|ids| json!({"type": "user_in", "user_ids": ids})),
        users.prop_map(|ids| json!({"type": "user_not_in", "user_ids": ids})),
        (prop::sample::select(&ATTRIBUTES[..]),
         prop::sample::select(&["eq", "neq", "in", "not_in"][..]),
         prop::sample::select(&VALUES[..]))
            .prop_map(|(a, op, v)| json!({"type": "attribute", "attribute": a, "op": op, "values": [v]})),
        (prop::sample::select(&["semver_gte", "semver_lt"][..]), prop::sample::select(&["1.0.0", "2.0.0"][..]))
            .prop_map(|(op, v)| json!({"type": "attribute", "attribute": "app_version", "op": op, "values": [v]})),
    ]
}

/// A serve over `names`: a fixed variant, or a rollout whose weights are cut
/// points of `0..=10_000` so they always sum to exactly 10,000.
fn serve(names: Vec<String>) -> impl Strategy<Value = Value> {
    let n = names.len();
    let fixed =
        prop::sample::select(names.clone()).prop_map(|v| json!({"type": "variant", "variant": v}));
    let split = (
        prop::sample::subsequence(names, 1..=n),
        prop::collection::vec(0u32..=10_000, n),
    )
        .prop_map(|(chosen, mut cuts)| {
            cuts.truncate(chosen.len() - 1);
            cuts.push(0);
            cuts.push(10_000);
            cuts.sort_unstable();
            let buckets: Vec<Value> = chosen
                .iter()
                .zip(cuts.windows(2))
                .map(|(v, w)| json!({"variant": v, "weight": w[1] - w[0]}))
                .collect();
            json!({"type": "rollout", "buckets": buckets})
        });
    prop_oneof![fixed, split]
}

fn valid_spec() -> impl Strategy<Value = FlagSpec> {
    (kind_and_value(), 1usize..6).prop_flat_map(|((kind, value), n)| {
        let names: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
        let rule = (
            prop::collection::vec(condition(), 0..3),
            serve(names.clone()),
        )
            .prop_map(|(conditions, serve)| json!({"conditions": conditions, "serve": serve}));
        (
            prop::collection::vec(value, n),
            prop::sample::select(names.clone()),
            prop::option::of(prop::sample::select(names.clone())),
            any::<bool>(),
            prop::collection::vec(rule, 0..5),
        )
            .prop_map(move |(values, default, off, enabled, rules)| {
                let variants: BTreeMap<&String, Value> = names.iter().zip(values).collect();
                let spec = json!({"kind": kind, "variants": variants, "default_variant": default,
                                  "off_variant": off, "enabled": enabled, "rules": rules});
                serde_json::from_value(spec).expect("generated spec decodes")
            })
    })
}

fn context() -> impl Strategy<Value = EvaluationContext> {
    let user = prop::option::of(prop_oneof![
        prop::sample::select(&USERS[..]).prop_map(String::from),
        "\\PC{0,12}"
    ]);
    let attrs = prop::collection::btree_map(
        prop_oneof![
            prop::sample::select(&ATTRIBUTES[..]).prop_map(String::from),
            "\\PC{0,8}"
        ],
        prop_oneof![
            prop::sample::select(&VALUES[..]).prop_map(String::from),
            "\\PC{0,8}"
        ],
        0..4,
    );
    (user, attrs).prop_map(|(user_id, attributes)| EvaluationContext {
        user_id,
        attributes,
    })
}

proptest! {
    #[test]
    fn evaluation_serves_an_existing_variant(spec in valid_spec(), ctx in context()) {
        prop_assert!(validate(&spec).is_ok(), "generator produced an invalid spec: {:?}", validate(&spec));
        let flag = stored("prop.flag", spec, 1);
        let result = evaluate(&flag, &ctx);
        prop_assert_eq!(Some(&result.value), flag.spec.variants.get(&result.variant));
        prop_assert_eq!(&evaluate(&flag, &ctx), &result, "deterministic");
    }

    #[test]
    fn evaluation_never_panics_on_unvalidated_specs(
        spec in valid_spec(), ctx in context(), drop_weight in any::<bool>(), ghost in any::<bool>()
    ) {
        // Break the spec the ways a hand-built (unvalidated) StoredFlag might be broken.
        let mut spec = spec;
        if ghost {
            spec.default_variant = "ghost".into();
        }
        if drop_weight {
            for rule in &mut spec.rules {
                if let chatflow_flags::Serve::Rollout { buckets } = &mut rule.serve {
                    buckets.iter_mut().for_each(|b| b.weight /= 2);
                }
            }
        }
        let _ = evaluate(&stored("prop.flag", spec, 1), &ctx);
    }
}
