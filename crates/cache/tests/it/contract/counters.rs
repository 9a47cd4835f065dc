//! Leases, compare-and-set and counters, including races.

/// Instantiates the lease and counter cases for one backend.
#[macro_export]
macro_rules! counter_cases {
    ($fixture:path, $backend:literal) => {
        use std::time::Duration;

        use chatflow_cache::{CacheError, KeyTtl};
        use chatflow_errors::{ErrorKind, HasKind};

        const SHORT: Duration = Duration::from_millis(200);
        const PATIENCE: Duration = Duration::from_secs(5);

        #[tokio::test]
        async fn set_if_absent_only_writes_a_missing_key() {
            let fx = $fixture().await;
            assert!(
                fx.cache
                    .set_if_absent("lease", b"a", Some(SHORT))
                    .await
                    .unwrap()
            );
            assert!(!fx.cache.set_if_absent("lease", b"b", None).await.unwrap());
            assert_eq!(
                fx.cache.get("lease").await.unwrap().as_deref(),
                Some(&b"a"[..])
            );
            let cache = fx.cache.clone();
            $crate::eventually("lease expiry", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.set_if_absent("lease", b"c", None).await.unwrap() }
            })
            .await;
            assert_eq!(
                fx.cache.get("lease").await.unwrap().as_deref(),
                Some(&b"c"[..])
            );
        }

        #[tokio::test]
        async fn racing_set_if_absent_has_exactly_one_winner() {
            let fx = $fixture().await;
            let racers = (0..32).map(|i| {
                let cache = fx.cache.clone();
                tokio::spawn(async move {
                    let value = format!("racer-{i}");
                    cache
                        .set_if_absent("prize", value.as_bytes(), Some(Duration::from_secs(30)))
                        .await
                        .unwrap()
                })
            });
            let winners = futures::future::join_all(racers)
                .await
                .into_iter()
                .filter(|won| *won.as_ref().unwrap())
                .count();
            assert_eq!(winners, 1);
        }

        #[tokio::test]
        async fn compare_and_set_swaps_only_on_a_match() {
            let fx = $fixture().await;
            let cas = |expected: Option<&'static [u8]>, new: &'static [u8]| {
                let cache = fx.cache.clone();
                async move {
                    cache
                        .compare_and_set("k", expected, new, None)
                        .await
                        .unwrap()
                }
            };
            assert!(
                !cas(Some(b"v0"), b"v1").await,
                "a missing key matches no value"
            );
            assert!(cas(None, b"v1").await, "None means must be absent");
            assert!(!cas(None, b"v2").await);
            assert!(!cas(Some(b"other"), b"v2").await);
            assert_eq!(
                fx.cache.get("k").await.unwrap().as_deref(),
                Some(&b"v1"[..])
            );
            assert!(cas(Some(b"v1"), b"v2").await);
            assert_eq!(
                fx.cache.get("k").await.unwrap().as_deref(),
                Some(&b"v2"[..])
            );
            assert!(
                fx.cache
                    .compare_and_set("k", Some(b"v2"), b"v3", Some(SHORT))
                    .await
                    .unwrap()
            );
            assert!(matches!(
                fx.cache.ttl("k").await.unwrap(),
                KeyTtl::ExpiresIn(_)
            ));
            assert!(
                fx.cache
                    .compare_and_set("k", Some(b"v3"), b"", None)
                    .await
                    .unwrap()
            );
            assert_eq!(fx.cache.ttl("k").await.unwrap(), KeyTtl::Persistent);
            assert!(
                fx.cache
                    .compare_and_set("k", Some(b""), b"v4", None)
                    .await
                    .unwrap()
            );
        }

        #[tokio::test]
        async fn incr_creates_with_ttl_and_keeps_it() {
            let fx = $fixture().await;
            let window = Some(Duration::from_secs(60));
            assert_eq!(fx.cache.incr("n", 5, window).await.unwrap(), 5);
            assert_eq!(fx.cache.incr("n", -7, None).await.unwrap(), -2);
            assert!(
                matches!(fx.cache.ttl("n").await.unwrap(), KeyTtl::ExpiresIn(_)),
                "ttl kept"
            );
            assert_eq!(
                fx.cache.get("n").await.unwrap().as_deref(),
                Some(&b"-2"[..])
            );
            assert_eq!(fx.cache.incr("plain", 1, None).await.unwrap(), 1);
            assert_eq!(fx.cache.ttl("plain").await.unwrap(), KeyTtl::Persistent);
            fx.cache.set("n", b"41", None).await.unwrap();
            assert_eq!(fx.cache.incr("n", 1, window).await.unwrap(), 42);
            assert_eq!(
                fx.cache.ttl("n").await.unwrap(),
                KeyTtl::Persistent,
                "existing key keeps no ttl"
            );
        }

        #[tokio::test]
        async fn incr_window_expires_then_restarts() {
            let fx = $fixture().await;
            assert_eq!(fx.cache.incr("w", 1, Some(SHORT)).await.unwrap(), 1);
            assert_eq!(fx.cache.incr("w", 1, Some(SHORT)).await.unwrap(), 2);
            let cache = fx.cache.clone();
            $crate::eventually("window reset", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.get("w").await.unwrap().is_none() }
            })
            .await;
            assert_eq!(fx.cache.incr("w", 1, Some(SHORT)).await.unwrap(), 1);
        }

        #[tokio::test]
        async fn incr_rejects_overflow_and_non_integers() {
            let fx = $fixture().await;
            fx.cache
                .set("max", i64::MAX.to_string().as_bytes(), None)
                .await
                .unwrap();
            let err = fx.cache.incr("max", 1, None).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            assert_eq!(
                fx.cache.get("max").await.unwrap().as_deref(),
                Some(i64::MAX.to_string().as_bytes())
            );
            for text in ["abc", "1.5", " 1", "007"] {
                fx.cache.set("text", text.as_bytes(), None).await.unwrap();
                let err = fx.cache.incr("text", 1, None).await.unwrap_err();
                assert!(matches!(err, CacheError::WrongType(_)), "{text:?}: {err}");
            }
        }

        #[tokio::test]
        async fn racing_increments_add_up() {
            let fx = $fixture().await;
            let tasks = (0..32).map(|_| {
                let cache = fx.cache.clone();
                tokio::spawn(async move {
                    for _ in 0..100 {
                        cache
                            .incr("counter", 1, Some(Duration::from_secs(60)))
                            .await
                            .unwrap();
                    }
                })
            });
            for task in futures::future::join_all(tasks).await {
                task.unwrap();
            }
            assert_eq!(
                fx.cache.get("counter").await.unwrap().as_deref(),
                Some(&b"3200"[..])
            );
        }
    };
}
