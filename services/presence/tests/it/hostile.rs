//! Replication payloads are untrusted: malformed, oversized and hostile
//! ones — on the channel or in snapshot keys — are ignored and counted.

/// Instantiates the hostile-payload tests for one backend kind.
#[macro_export]
macro_rules! hostile_suite {
    ($kind:expr) => {
        use chatflow_presence::Status;
        use chatflow_presence::wire::{self, DELTA_CHANNEL};
        use serde_json::{Value, json};

        use $crate::support::{Cluster, TTL, eventually, now_ms, seen, user};

        fn entry(user: &str, node: &str, wall_ms: i64, expires_at_ms: i64) -> Value {
            json!({"user_id": user, "device_id": "phone", "entry": {
                "status": "online", "last_active_ms": wall_ms, "expires_at_ms": expires_at_ms,
                "stamp": {"wall_ms": wall_ms, "counter": 0, "node": node}}})
        }

        fn batch(node: &str, entries: Vec<Value>) -> Vec<u8> {
            serde_json::to_vec(&json!({"v": 1, "node": node, "entries": entries})).unwrap()
        }

        #[tokio::test]
        async fn hostile_deltas_are_ignored_and_counted() {
            let cluster = Cluster::new($kind).await;
            let node = cluster.node().await;
            let cache = cluster.cache().await;
            let victim = user();
            let now = now_ms();
            let later = now + 10_000;
            let mut deep = String::new();
            for _ in 0..10_000 {
                deep.push('[');
            }
            let too_many: Vec<Value> = (0..=wire::MAX_ENTRIES).map(|_| entry(&victim, "evil", now, later)).collect();
            let hostile: Vec<Vec<u8>> = vec![
                b"\xff\xfe not json".to_vec(),
                b"{}".to_vec(),
                deep.into_bytes(),
                vec![b' '; wire::MAX_PAYLOAD_BYTES + 1],
                serde_json::to_vec(&json!({"v": 2, "node": "evil", "entries": []})).unwrap(),
                batch("bad node!", vec![entry(&victim, "bad node!", now, later)]),
                batch("evil", vec![entry(&victim, "someone-else", now, later)]),
                batch("evil", vec![entry("not a user", "evil", now, later)]),
                // A stamp far in the future would win every merge forever.
                batch("evil", vec![entry(&victim, "evil", now + 3_600_000, now + 3_600_000)]),
                batch("evil", vec![entry(&victim, "evil", now, i64::MAX)]),
                batch("evil", vec![entry(&victim, "evil", i64::MIN, later)]),
                batch("evil", too_many),
            ];
            for payload in &hostile {
                cache.publish(DELTA_CHANNEL, payload).await.unwrap();
            }
            let expected = hostile.len() as u64;
            eventually("every payload refused", TTL * 2, || async {
                (node.stats().decode_failures >= expected).then_some(())
            })
            .await;
            assert_eq!(node.stats().decode_failures, expected);
            assert_eq!(node.stats().deltas_received, 0);
            let view = seen(&node, &victim).await;
            assert_eq!((view.status, view.last_seen_ms), (Status::Offline, None));

            // The channel still works: a well-formed batch is merged.
            cache.publish(DELTA_CHANNEL, &batch("evil", vec![entry(&victim, "evil", now, later)])).await.unwrap();
            eventually("a valid delta", TTL * 2, || async {
                (seen(&node, &victim).await.status == Status::Online).then_some(())
            })
            .await;
            assert_eq!(node.stats().deltas_received, 1);
        }

        #[tokio::test]
        async fn hostile_snapshots_are_ignored_and_counted() {
            let cluster = Cluster::new($kind).await;
            let node = cluster.node().await;
            let cache = cluster.cache().await;
            let victim = user();
            let now = now_ms();
            let ttl = std::time::Duration::from_secs(30);
            let add = |name: &'static str| {
                let cache = cache.clone();
                async move { cache.expiring_set_add(wire::NODES_KEY, name.as_bytes(), ttl).await.unwrap(); }
            };
            // A manifest announcing a million chunks, one that is garbage,
            // one naming another node, and a valid manifest whose chunk lies.
            cache.set(&wire::manifest_key("huge"), br#"{"v":1,"node":"huge","epoch":1,"chunks":1000000}"#, Some(ttl)).await.unwrap();
            cache.set(&wire::manifest_key("junk"), b"\x00\x01", Some(ttl)).await.unwrap();
            cache.set(&wire::manifest_key("liar"), br#"{"v":1,"node":"other","epoch":1,"chunks":1}"#, Some(ttl)).await.unwrap();
            cache.set(&wire::manifest_key("evil"), br#"{"v":1,"node":"evil","epoch":1,"chunks":1}"#, Some(ttl)).await.unwrap();
            let forged = batch("evil", vec![entry(&victim, "evil", now + 3_600_000, now + 3_600_000)]);
            cache.set(&wire::chunk_key("evil", 0), &forged, Some(ttl)).await.unwrap();
            for name in ["huge", "junk", "liar", "evil", "not a node id"] {
                add(name).await;
            }
            eventually("snapshot payloads refused", TTL * 2, || async {
                (node.stats().decode_failures >= 4).then_some(())
            })
            .await;
            assert_eq!(seen(&node, &victim).await.status, Status::Offline);

            // A well-formed snapshot of the same node is merged.
            let honest = batch("evil", vec![entry(&victim, "evil", now, now + 10_000)]);
            cache.set(&wire::chunk_key("evil", 0), &honest, Some(ttl)).await.unwrap();
            cache.set(&wire::manifest_key("evil"), br#"{"v":1,"node":"evil","epoch":2,"chunks":1}"#, Some(ttl)).await.unwrap();
            eventually("the honest snapshot", TTL * 2, || async {
                (seen(&node, &victim).await.status == Status::Online).then_some(())
            })
            .await;
        }
    };
}
