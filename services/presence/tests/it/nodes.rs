//! Replicas converge: devices on one node are seen on the others, through
//! deltas, snapshots, expiry of a killed node, and the durable last-seen.

/// Instantiates the replication tests for one backend kind.
#[macro_export]
macro_rules! nodes_suite {
    ($kind:expr) => {
        use chatflow_presence::Status;

        use $crate::support::{Cluster, TTL, eventually, now_ms, seen, user, wait_status};

        #[tokio::test]
        async fn a_device_on_one_node_is_seen_on_the_others() {
            let cluster = Cluster::new($kind).await;
            let (a, b, c) = (
                cluster.node().await,
                cluster.node().await,
                cluster.node().await,
            );
            let ann = user();
            let phone = a.connect(&ann, "phone").unwrap();
            for node in [&a, &b, &c] {
                let view = wait_status(node, &ann, Status::Online).await;
                assert_eq!(view.device_ids, vec!["phone"]);
            }
            phone.set_status(Status::Away);
            wait_status(&b, &ann, Status::Away).await;
            wait_status(&c, &ann, Status::Away).await;

            // A second connection of the same device is counted, not a new device.
            let again = a.connect(&ann, "phone").unwrap();
            wait_status(&b, &ann, Status::Online).await;
            drop(again);
            let view = wait_status(&b, &ann, Status::Away).await;
            assert_eq!(view.device_ids, vec!["phone"]);

            // A laptop on another node makes the user online again.
            let laptop = b.connect(&ann, "laptop").unwrap();
            let view = wait_status(&a, &ann, Status::Online).await;
            assert_eq!(view.device_ids, vec!["laptop", "phone"]);
            drop(laptop);
            wait_status(&a, &ann, Status::Away).await;

            let before = now_ms();
            drop(phone);
            for node in [&a, &b, &c] {
                let view = wait_status(node, &ann, Status::Offline).await;
                assert!(view.device_ids.is_empty());
                let last = view.last_seen_ms.expect("last seen after going offline");
                assert!(last >= before && last <= now_ms(), "{last} vs {before}");
            }
            assert!(a.stats().deltas_published > 0 && b.stats().deltas_received > 0);
        }

        #[tokio::test]
        async fn a_killed_node_devices_read_offline_everywhere_within_the_ttl() {
            let cluster = Cluster::new($kind).await;
            let (doomed, stop) = cluster.killable().await;
            let survivor = cluster.node().await;
            let ann = user();
            let connected_at = now_ms();
            let guard = doomed.connect(&ann, "phone").unwrap();
            wait_status(&survivor, &ann, Status::Online).await;
            let mut watch = survivor.watch(&user(), vec![ann.clone()]).await.unwrap();
            assert_eq!(watch.initial()[0].status, Status::Online);
            // Let a snapshot with an extended expiry reach the survivor too.
            let writes = doomed.stats().snapshot_writes;
            eventually("a refresh", TTL * 2, || async {
                (doomed.stats().snapshot_writes > writes).then_some(())
            })
            .await;

            // Killed: no goodbye, no cleanup.
            stop.cancel();
            std::mem::forget(guard);
            drop(doomed);
            let killed_at = tokio::time::Instant::now();
            let view = wait_status(&survivor, &ann, Status::Offline).await;
            assert!(
                killed_at.elapsed() <= TTL + TTL / 2,
                "took {:?}",
                killed_at.elapsed()
            );
            let last = view.last_seen_ms.expect("last seen of a vanished device");
            assert!(last >= connected_at && last <= now_ms(), "{last}");
            // A watcher is told too, though no message announced it.
            let update = tokio::time::timeout(TTL, watch.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (update.status, update.last_seen_ms),
                (Status::Offline, Some(last))
            );
            // Still offline later: nothing resurrects it.
            tokio::time::sleep(TTL / 2).await;
            assert_eq!(seen(&survivor, &ann).await.status, Status::Offline);
        }

        #[tokio::test]
        async fn a_late_node_catches_up_from_snapshots() {
            let cluster = Cluster::new($kind).await;
            let early = cluster.node().await;
            let (ann, bob) = (user(), user());
            let _phone = early.connect(&ann, "phone").unwrap();
            let tablet = early.connect(&bob, "tablet").unwrap();
            let left_at = now_ms();
            drop(tablet);
            // Wait for a snapshot written after both changes.
            let writes = early.stats().snapshot_writes;
            eventually("a snapshot after the changes", TTL * 2, || async {
                (early.stats().snapshot_writes > writes).then_some(())
            })
            .await;

            let late = cluster.node().await;
            // Known as soon as `start` returns: no waiting for deltas.
            let views = late.get(None, &[ann.clone(), bob.clone()]).await.unwrap();
            assert_eq!(
                (views[0].status, &views[0].device_ids),
                (Status::Online, &vec!["phone".to_owned()])
            );
            assert_eq!(views[1].status, Status::Offline);
            assert!(
                views[1].last_seen_ms.is_some_and(|t| t >= left_at),
                "{views:?}"
            );
            assert!(late.stats().snapshot_merges >= 1);
        }

        #[tokio::test]
        async fn a_node_that_never_saw_a_user_reads_their_last_seen_from_the_cache() {
            let cluster = Cluster::new($kind).await;
            let first = cluster.node().await;
            let ann = user();
            let guard = first.connect(&ann, "phone").unwrap();
            guard.touch();
            let left_at = now_ms();
            drop(guard);
            wait_status(&first, &ann, Status::Offline).await;
            let key = chatflow_presence::wire::last_seen_key(&ann);
            let stored = eventually("the last-seen key", TTL, || async {
                cluster.cache().await.get(&key).await.unwrap()
            })
            .await;
            let stored: i64 = std::str::from_utf8(&stored).unwrap().parse().unwrap();
            assert!(stored >= left_at, "{stored}");
            // Past the TTL (and a refresh) the owner's snapshot no longer
            // carries the device: only the cache knows.
            tokio::time::sleep(TTL + TTL / 2).await;
            let fresh = cluster.node().await;
            let view = eventually("the stored last-seen", TTL, || async {
                let view = seen(&fresh, &ann).await;
                view.last_seen_ms.is_some().then_some(view)
            })
            .await;
            assert_eq!(view.status, Status::Offline);
            assert_eq!(view.last_seen_ms, Some(stored));
        }
    };
}
