//! `FlagCache`: version ordering, tombstones, snapshots and typed reads.

use chatflow_flags::{EvaluationContext, FlagCache, Reason, StoredFlag};
use serde_json::json;

use crate::support::{spec, stored};

/// Version `version` of a string flag serving `value` to everyone.
fn text(key: &str, value: &str, version: u64) -> StoredFlag {
    stored(
        key,
        spec(json!({
            "kind": "string", "variants": {"v": value}, "default_variant": "v", "enabled": true,
        })),
        version,
    )
}

fn tombstone(key: &str, version: u64) -> StoredFlag {
    StoredFlag {
        deleted: true,
        ..text(key, "deleted", version)
    }
}

fn read(cache: &FlagCache, key: &str) -> String {
    cache.string_value(key, &EvaluationContext::default(), "<fallback>")
}

#[test]
fn only_newer_versions_apply() {
    let cache = FlagCache::new();
    assert!(cache.apply(text("a", "one", 1)));
    assert!(cache.apply(text("a", "three", 3)));
    assert!(
        !cache.apply(text("a", "two", 2)),
        "out-of-order change is ignored"
    );
    assert!(
        !cache.apply(text("a", "three again", 3)),
        "duplicate is ignored"
    );
    assert_eq!(read(&cache, "a"), "three");
    assert_eq!(cache.version("a"), Some(3));
    assert_eq!(cache.get("a").map(|f| f.version), Some(3));
}

#[test]
fn tombstone_removes_but_remembers_the_version() {
    let cache = FlagCache::new();
    cache.apply(text("a", "live", 4));
    cache.apply(text("b", "other", 1));
    assert!(cache.apply(tombstone("a", 5)));
    assert_eq!(cache.get("a"), None);
    assert_eq!(cache.evaluate("a", &EvaluationContext::default()), None);
    assert_eq!(read(&cache, "a"), "<fallback>");
    assert_eq!((cache.len(), cache.version("a")), (1, Some(5)));

    assert!(
        !cache.apply(text("a", "stale", 4)),
        "a late older write cannot resurrect it"
    );
    assert!(
        !cache.apply(tombstone("a", 5)),
        "duplicate tombstone is ignored"
    );
    assert!(cache.apply(text("a", "recreated", 6)));
    assert_eq!(read(&cache, "a"), "recreated");
}

#[test]
fn tombstone_for_an_unknown_key_blocks_older_writes() {
    let cache = FlagCache::new();
    assert!(cache.apply(tombstone("a", 7)));
    assert!(cache.is_empty());
    assert!(!cache.apply(text("a", "older", 6)));
}

#[test]
fn replace_all_installs_the_snapshot_exactly() {
    let cache = FlagCache::new();
    cache.apply(text("gone", "x", 1));
    cache.apply(text("kept", "newer", 9));
    cache.replace_all(vec![
        text("kept", "snapshot", 2),
        text("dup", "old", 1),
        text("dup", "new", 2),
        tombstone("dead", 3),
    ]);
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get("gone"), None);
    assert_eq!(
        cache.version("gone"),
        None,
        "keys outside the snapshot are forgotten"
    );
    assert_eq!(
        read(&cache, "kept"),
        "snapshot",
        "the snapshot is authoritative"
    );
    assert_eq!(
        read(&cache, "dup"),
        "new",
        "highest version of a repeated key wins"
    );
    assert_eq!(cache.version("dead"), Some(3));
    assert!(
        !cache.apply(text("dead", "stale", 2)),
        "snapshot tombstones guard too"
    );
    assert!(cache.apply(text("kept", "replayed change", 3)));
    assert_eq!(read(&cache, "kept"), "replayed change");
}

#[test]
fn typed_helpers_fall_back_on_missing_or_mismatched_flags() {
    let cache = FlagCache::new();
    let anyone = EvaluationContext::default();
    cache.apply(stored("b", spec(json!({"kind": "boolean", "variants": {"on": true}, "default_variant": "on", "enabled": true})), 1));
    cache.apply(stored("n", spec(json!({"kind": "number", "variants": {"x": 2.5}, "default_variant": "x", "enabled": true})), 1));
    cache.apply(stored("j", spec(json!({"kind": "json", "variants": {"x": {"k": [1]}}, "default_variant": "x", "enabled": true})), 1));

    assert!(cache.bool_value("b", &anyone, false));
    assert!(cache.bool_value("missing", &anyone, true));
    assert!(
        !cache.bool_value("n", &anyone, false),
        "wrong kind falls back"
    );
    assert_eq!(cache.number_value("n", &anyone, 0.0), 2.5);
    assert_eq!(cache.number_value("b", &anyone, -1.0), -1.0);
    assert_eq!(
        cache.json_value("j", &anyone, json!(null)),
        json!({"k": [1]})
    );
    assert_eq!(
        cache.json_value("missing", &anyone, json!("fb")),
        json!("fb")
    );
    assert_eq!(cache.string_value("b", &anyone, "fb"), "fb");
    assert_eq!(
        cache.evaluate("b", &anyone).map(|e| e.reason),
        Some(Reason::Default)
    );
}

#[test]
fn clones_share_state_across_threads() {
    let cache = FlagCache::new();
    let writer = cache.clone();
    std::thread::scope(|s| {
        s.spawn(|| {
            for v in 1..=100 {
                writer.apply(text("a", &v.to_string(), v));
            }
        });
        s.spawn(|| {
            for _ in 0..100 {
                let seen = read(&cache, "a");
                assert!(
                    seen == "<fallback>" || seen.parse::<u64>().is_ok(),
                    "{seen}"
                );
            }
        });
    });
    assert_eq!(read(&cache, "a"), "100");
}
