//! Flag evaluation is on every service's hot path (local cache, no network):
//! measure a realistic spec — an allow list, attribute rules and a rollout.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use chatflow_flags::{EvaluationContext, FlagCache, StoredFlag, rollout_bucket};
use criterion::{Criterion, criterion_group, criterion_main};

fn flag() -> StoredFlag {
    let spec = serde_json::json!({
        "kind": "boolean",
        "variants": {"on": true, "off": false},
        "default_variant": "off",
        "enabled": true,
        "rules": [
            {"conditions": [{"type": "user_in", "user_ids": (0..1000).map(|i| format!("staff-{i}")).collect::<Vec<_>>()}],
             "serve": {"type": "variant", "variant": "on"}},
            {"conditions": [
                {"type": "attribute", "attribute": "platform", "op": "in", "values": ["ios", "android"]},
                {"type": "attribute", "attribute": "app_version", "op": "semver_gte", "values": ["2.3.0"]}],
             "serve": {"type": "rollout", "buckets": [{"variant": "on", "weight": 2000}, {"variant": "off", "weight": 8000}]}}
        ]
    });
    serde_json::from_value(serde_json::json!({
        "key": "chat.new_composer", "spec": spec, "version": 1, "updated_at_ms": 0, "updated_by": "bench"
    }))
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let flag = flag();
    let ctx = EvaluationContext::for_user("user-42")
        .with_attribute("platform", "ios")
        .with_attribute("app_version", "2.4.1");
    c.bench_function("evaluate/rollout_rule", |b| {
        b.iter(|| chatflow_flags::evaluate(black_box(&flag), black_box(&ctx)))
    });
    c.bench_function("rollout_bucket", |b| {
        b.iter(|| rollout_bucket(black_box("chat.new_composer"), black_box("user-42")))
    });
    let cache = FlagCache::new();
    cache.apply(flag.clone());
    c.bench_function("cache/bool_value", |b| {
        b.iter(|| cache.bool_value(black_box("chat.new_composer"), black_box(&ctx), false))
    });
}

criterion_group!(flag_benches, benches);
criterion_main!(flag_benches);
