//! Values, TTLs, kinds of values and argument checks.

/// Instantiates the key/value cases for one backend.
#[macro_export]
macro_rules! kv_cases {
    ($fixture:path, $backend:literal) => {
        use std::time::Duration;

        use chatflow_cache::{CacheError, KeyTtl, MAX_KEY_BYTES, MAX_VALUE_BYTES};
        use chatflow_errors::{ErrorKind, HasKind};

        const SHORT: Duration = Duration::from_millis(200);
        const PATIENCE: Duration = Duration::from_secs(5);

        #[tokio::test]
        async fn reports_its_backend() {
            let fx = $fixture().await;
            assert_eq!(fx.cache.backend(), $backend);
            fx.cache.ping().await.unwrap();
        }

        #[tokio::test]
        async fn values_round_trip_as_bytes() {
            let fx = $fixture().await;
            let binary = [0u8, 255, 10, 13, 128];
            fx.cache.set("bin", &binary, None).await.unwrap();
            fx.cache.set("empty", b"", None).await.unwrap();
            assert_eq!(
                fx.cache.get("bin").await.unwrap().as_deref(),
                Some(&binary[..])
            );
            assert_eq!(
                fx.cache.get("empty").await.unwrap().as_deref(),
                Some(&b""[..])
            );
            assert_eq!(fx.cache.get("missing").await.unwrap(), None);
            fx.cache.set("bin", b"v2", None).await.unwrap();
            assert_eq!(
                fx.cache.get("bin").await.unwrap().as_deref(),
                Some(&b"v2"[..])
            );
        }

        #[tokio::test]
        async fn values_expire_after_their_ttl() {
            let fx = $fixture().await;
            fx.cache.set("k", b"v", Some(SHORT)).await.unwrap();
            match fx.cache.ttl("k").await.unwrap() {
                KeyTtl::ExpiresIn(left) => assert!(left <= SHORT, "{left:?}"),
                other => panic!("expected a ttl, got {other:?}"),
            }
            let cache = fx.cache.clone();
            $crate::eventually("expiry", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.get("k").await.unwrap().is_none() }
            })
            .await;
            assert_eq!(fx.cache.ttl("k").await.unwrap(), KeyTtl::Missing);
        }

        #[tokio::test]
        async fn set_without_ttl_clears_the_old_ttl() {
            let fx = $fixture().await;
            fx.cache
                .set("k", b"v", Some(Duration::from_secs(60)))
                .await
                .unwrap();
            fx.cache.set("k", b"w", None).await.unwrap();
            assert_eq!(fx.cache.ttl("k").await.unwrap(), KeyTtl::Persistent);
        }

        #[tokio::test]
        async fn expire_and_ttl_follow_the_key() {
            let fx = $fixture().await;
            assert!(!fx.cache.expire("nothing", SHORT).await.unwrap());
            assert_eq!(fx.cache.ttl("nothing").await.unwrap(), KeyTtl::Missing);
            fx.cache.set("k", b"v", None).await.unwrap();
            assert_eq!(fx.cache.ttl("k").await.unwrap(), KeyTtl::Persistent);
            assert!(fx.cache.expire("k", SHORT).await.unwrap());
            let cache = fx.cache.clone();
            $crate::eventually("expiry", PATIENCE, || {
                let cache = cache.clone();
                async move { cache.ttl("k").await.unwrap() == KeyTtl::Missing }
            })
            .await;
        }

        #[tokio::test]
        async fn delete_reports_whether_the_key_existed() {
            let fx = $fixture().await;
            fx.cache.set("k", b"v", None).await.unwrap();
            assert!(fx.cache.delete("k").await.unwrap());
            assert!(!fx.cache.delete("k").await.unwrap());
            assert_eq!(fx.cache.get("k").await.unwrap(), None);
        }

        #[tokio::test]
        async fn kinds_do_not_mix() {
            let fx = $fixture().await;
            fx.cache.zadd("zset", b"m", 1.0).await.unwrap();
            fx.cache.set("bytes", b"v", None).await.unwrap();
            assert!(matches!(
                fx.cache.get("zset").await,
                Err(CacheError::WrongType(_))
            ));
            assert!(matches!(
                fx.cache.zadd("bytes", b"m", 1.0).await,
                Err(CacheError::WrongType(_))
            ));
            assert!(matches!(
                fx.cache.incr("zset", 1, None).await,
                Err(CacheError::WrongType(_))
            ));
            assert!(!fx.cache.set_if_absent("zset", b"v", None).await.unwrap());
            fx.cache.set("zset", b"replaced", None).await.unwrap();
            assert!(fx.cache.delete("zset").await.unwrap());
        }

        #[tokio::test]
        async fn invalid_arguments_are_rejected_and_change_nothing() {
            let fx = $fixture().await;
            let long_key = "k".repeat(MAX_KEY_BYTES + 1);
            for key in ["", "line\nbreak", "nul\0", "bell\u{7}", long_key.as_str()] {
                let err = fx.cache.set(key, b"v", None).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{key:?}: {err}");
                let err = fx.cache.get(key).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{key:?}: {err}");
                assert!(fx.cache.publish(key, b"x").await.is_err());
                assert!(fx.cache.subscribe(key).await.is_err());
                assert!(
                    fx.cache
                        .eval(chatflow_cache::gcra(), &[key.to_owned()], &[1, 0, 1, 0])
                        .await
                        .is_err()
                );
            }
            fx.cache
                .set(&"k".repeat(MAX_KEY_BYTES), b"ok", None)
                .await
                .unwrap();
            let huge = vec![0u8; MAX_VALUE_BYTES + 1];
            let checks = [
                fx.cache.set("big", &huge, None).await.unwrap_err(),
                fx.cache
                    .set_if_absent("big", &huge, None)
                    .await
                    .unwrap_err(),
                fx.cache
                    .compare_and_set("big", None, &huge, None)
                    .await
                    .unwrap_err(),
                fx.cache.zadd("big", &huge, 1.0).await.unwrap_err(),
                fx.cache
                    .expiring_set_add("big", &huge, SHORT)
                    .await
                    .unwrap_err(),
                fx.cache.publish("big", &huge).await.unwrap_err(),
                fx.cache
                    .set("big", b"v", Some(Duration::ZERO))
                    .await
                    .unwrap_err(),
                fx.cache
                    .incr("big", 1, Some(Duration::ZERO))
                    .await
                    .unwrap_err(),
                fx.cache.expire("big", Duration::ZERO).await.unwrap_err(),
                fx.cache.zadd("big", b"m", f64::NAN).await.unwrap_err(),
                fx.cache
                    .zrange_by_score("big", f64::NAN, 1.0, None)
                    .await
                    .unwrap_err(),
            ];
            for err in checks {
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            }
            assert_eq!(
                fx.cache.get("big").await.unwrap(),
                None,
                "nothing was written"
            );
            fx.cache
                .set("big", &vec![7u8; MAX_VALUE_BYTES], None)
                .await
                .unwrap();
            assert_eq!(
                fx.cache.get("big").await.unwrap().map(|v| v.len()),
                Some(MAX_VALUE_BYTES)
            );
        }
    };
}
