//! Sorted sets and expiring sets.

/// Instantiates the sorted-set and expiring-set cases for one backend.
#[macro_export]
macro_rules! set_cases {
    ($fixture:path, $backend:literal) => {
        use std::time::Duration;

        use bytes::Bytes;
        use chatflow_cache::KeyTtl;

        const SHORT: Duration = Duration::from_millis(200);
        const LONG: Duration = Duration::from_secs(60);
        const PATIENCE: Duration = Duration::from_secs(5);

        fn names(members: &[(Bytes, f64)]) -> Vec<&[u8]> {
            members.iter().map(|(m, _)| m.as_ref()).collect()
        }

        #[tokio::test]
        async fn sorted_set_orders_by_score_then_member() {
            let fx = $fixture().await;
            let c = &fx.cache;
            assert!(c.zadd("z", b"b", 2.0).await.unwrap());
            assert!(c.zadd("z", b"a", 2.0).await.unwrap());
            assert!(c.zadd("z", b"low", -1.5).await.unwrap());
            assert!(c.zadd("z", b"top", f64::INFINITY).await.unwrap());
            assert!(
                !c.zadd("z", b"low", 0.25).await.unwrap(),
                "re-scoring is not an add"
            );
            assert_eq!(c.zcard("z").await.unwrap(), 4);
            let all = c
                .zrange_by_score("z", f64::NEG_INFINITY, f64::INFINITY, None)
                .await
                .unwrap();
            assert_eq!(names(&all), [&b"low"[..], b"a", b"b", b"top"]);
            assert_eq!(all[0].1, 0.25);
            assert_eq!(all[3].1, f64::INFINITY);
            let mid = c.zrange_by_score("z", 0.25, 2.0, Some(2)).await.unwrap();
            assert_eq!(
                mid,
                vec![
                    (Bytes::from_static(b"low"), 0.25),
                    (Bytes::from_static(b"a"), 2.0)
                ]
            );
            assert!(
                c.zrange_by_score("z", 3.0, 2.0, None)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                c.zrange_by_score("z", 0.0, 9.0, Some(0))
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                c.zrange_by_score("none", 0.0, 9.0, None)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(c.zcard("none").await.unwrap(), 0);
        }

        #[tokio::test]
        async fn sorted_set_scores_round_trip_exactly() {
            let fx = $fixture().await;
            let scores = [0.1, 1e300, -2.5e-7, 1_700_000_000_123.0, f64::NEG_INFINITY];
            for (i, score) in scores.iter().enumerate() {
                fx.cache
                    .zadd("z", format!("m{i}").as_bytes(), *score)
                    .await
                    .unwrap();
            }
            let all = fx
                .cache
                .zrange_by_score("z", f64::NEG_INFINITY, f64::INFINITY, None)
                .await
                .unwrap();
            let mut got: Vec<f64> = all.iter().map(|(_, s)| *s).collect();
            let mut want = scores.to_vec();
            got.sort_by(f64::total_cmp);
            want.sort_by(f64::total_cmp);
            assert_eq!(got, want);
        }

        #[tokio::test]
        async fn sorted_set_removal_and_cleanup() {
            let fx = $fixture().await;
            let c = &fx.cache;
            for (member, score) in [(&b"a"[..], 1.0), (b"b", 2.0), (b"c", 3.0), (b"d", 4.0)] {
                c.zadd("z", member, score).await.unwrap();
            }
            assert!(c.zrem("z", b"a").await.unwrap());
            assert!(!c.zrem("z", b"a").await.unwrap());
            assert!(!c.zrem("none", b"a").await.unwrap());
            assert_eq!(c.zrem_range_by_score("z", 2.0, 3.0).await.unwrap(), 2);
            assert_eq!(c.zrem_range_by_score("z", 2.0, 3.0).await.unwrap(), 0);
            assert_eq!(c.zcard("z").await.unwrap(), 1);
            assert!(c.expire("z", LONG).await.unwrap());
            assert!(c.zadd("z", b"e", 5.0).await.unwrap());
            assert!(
                matches!(c.ttl("z").await.unwrap(), KeyTtl::ExpiresIn(_)),
                "zadd keeps the ttl"
            );
            assert_eq!(
                c.zrem_range_by_score("z", f64::NEG_INFINITY, f64::INFINITY)
                    .await
                    .unwrap(),
                2
            );
            assert_eq!(
                c.ttl("z").await.unwrap(),
                KeyTtl::Missing,
                "an empty set disappears"
            );
        }

        #[tokio::test]
        async fn expiring_set_members_expire_one_by_one() {
            let fx = $fixture().await;
            let c = &fx.cache;
            assert!(c.expiring_set_add("online", b"phone", SHORT).await.unwrap());
            assert!(c.expiring_set_add("online", b"laptop", LONG).await.unwrap());
            let members = c.expiring_set_members("online").await.unwrap();
            assert_eq!(
                members,
                vec![Bytes::from_static(b"phone"), Bytes::from_static(b"laptop")]
            );
            let cache = fx.cache.clone();
            $crate::eventually("phone expiry", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.expiring_set_members("online").await.unwrap().len() == 1 }
            })
            .await;
            assert_eq!(
                c.expiring_set_members("online").await.unwrap(),
                vec![Bytes::from_static(b"laptop")]
            );
            assert_eq!(
                c.zcard("online").await.unwrap(),
                1,
                "expired members were pruned"
            );
            assert!(
                c.expiring_set_add("online", b"phone", SHORT).await.unwrap(),
                "an expired member is new again"
            );
        }

        #[tokio::test]
        async fn expiring_set_refresh_extends_a_member() {
            let fx = $fixture().await;
            let c = &fx.cache;
            assert!(c.expiring_set_add("conns", b"c1", SHORT).await.unwrap());
            assert!(
                !c.expiring_set_add("conns", b"c1", LONG).await.unwrap(),
                "refresh is not an add"
            );
            assert!(c.expiring_set_add("conns", b"c2", SHORT).await.unwrap());
            let cache = fx.cache.clone();
            $crate::eventually("c2 expiry", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.expiring_set_members("conns").await.unwrap().len() == 1 }
            })
            .await;
            assert_eq!(
                c.expiring_set_members("conns").await.unwrap(),
                vec![Bytes::from_static(b"c1")]
            );
            match c.ttl("conns").await.unwrap() {
                KeyTtl::ExpiresIn(left) => {
                    assert!(left > SHORT, "key ttl covers the longest member: {left:?}")
                }
                other => panic!("expected a ttl, got {other:?}"),
            }
        }

        #[tokio::test]
        async fn expiring_set_remove_and_disappearance() {
            let fx = $fixture().await;
            let c = &fx.cache;
            assert!(c.expiring_set_members("none").await.unwrap().is_empty());
            assert!(!c.expiring_set_remove("none", b"x").await.unwrap());
            c.expiring_set_add("s", b"x", LONG).await.unwrap();
            c.expiring_set_add("s", b"y", SHORT).await.unwrap();
            assert!(c.expiring_set_remove("s", b"x").await.unwrap());
            assert!(!c.expiring_set_remove("s", b"x").await.unwrap());
            let cache = fx.cache.clone();
            $crate::eventually("last member expiry", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.expiring_set_members("s").await.unwrap().is_empty() }
            })
            .await;
            assert_eq!(
                c.ttl("s").await.unwrap(),
                KeyTtl::Missing,
                "an empty set disappears"
            );
            assert!(!c.expiring_set_remove("s", b"y").await.unwrap());
        }
    };
}
