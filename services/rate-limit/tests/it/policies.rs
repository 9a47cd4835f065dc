//! Invalid policies, in the file or the flag, are rejected with a message
//! naming the action and the rule; nothing starts with a bad file.

use chatflow_cache::CacheOptions;
use chatflow_rate_limit::{Deps, Policies, PolicySpec, RateLimitService};
use serde_json::json;

use crate::app::{config, per_ten_minutes};

async fn build(policies: &[(&str, PolicySpec)]) -> Result<RateLimitService, String> {
    let cache = chatflow_cache::connect("memory://", CacheOptions::default())
        .await
        .unwrap();
    let deps = Deps { cache, flags: None };
    RateLimitService::build(config(policies), deps).map_err(|e| e.to_string())
}

#[tokio::test]
async fn invalid_file_policies_stop_the_build_with_a_precise_message() {
    let cases = [
        (
            "a.zero",
            PolicySpec::new(0, 1000),
            "a.zero: limit must be at least 1",
        ),
        (
            "a.period",
            PolicySpec::new(1, 0),
            "a.period: period_ms must be at least 1",
        ),
        (
            "a.burst",
            per_ten_minutes(10).with_burst(101),
            "a.burst: burst 101 is more than 10 × limit 10",
        ),
        (
            "a.fast",
            PolicySpec::new(5000, 1000),
            "a.fast: limit 5000 per 1000 ms is more than one request per millisecond",
        ),
        (
            "Bad Name",
            per_ten_minutes(1),
            "\"Bad Name\" must be 1 to 64 characters of [a-z0-9._-]",
        ),
    ];
    for (action, spec, expected) in cases {
        let message = build(&[(action, spec)]).await.err().unwrap();
        assert!(
            message.starts_with("invalid rate-limit policy"),
            "{message}"
        );
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
    let defaults_and_more = build(&[("x.ok", per_ten_minutes(1))]).await.unwrap();
    let limiter = defaults_and_more.limiter();
    assert!(limiter.policy("x.ok").is_some());
    assert!(limiter.policy("auth.login.ip").is_some(), "defaults stay");
}

#[test]
fn invalid_flag_values_are_rejected_with_a_precise_message() {
    let message = |value: serde_json::Value| Policies::from_json(&value).unwrap_err().to_string();
    assert!(message(json!([1])).contains("expected an object of policies by action, got an array"));
    assert!(
        message(json!({"a.b": {"limit": 1, "period_ms": 10, "brust": 2}}))
            .contains("a.b: unknown field `brust`"),
        "{}",
        message(json!({"a.b": {"limit": 1, "period_ms": 10, "brust": 2}}))
    );
    assert!(message(json!({"a.b": {"period_ms": 10}})).contains("a.b: missing field `limit`"));
    assert!(message(json!({"a.b": {"limit": -1, "period_ms": 10}})).contains("a.b: invalid value"));
    assert!(
        message(json!({"a.b": {"limit": 1, "period_ms": 10, "burst": 11}}))
            .contains("a.b: burst 11 is more than 10 × limit 1")
    );
    let ok =
        Policies::from_json(&json!({"a.b": {"limit": 3, "period_ms": 60000, "fail_open": false}}))
            .unwrap();
    let policy = ok.get("a.b").unwrap();
    assert_eq!(
        (policy.limit, policy.burst, policy.fail_open),
        (3, 3, false)
    );
}
