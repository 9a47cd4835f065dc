//! Atomic scripts: the shipped GCRA limiter and a custom script.

/// Instantiates the script cases for one backend.
#[macro_export]
macro_rules! script_cases {
    ($fixture:path, $backend:literal) => {
        use std::time::Duration;

        use chatflow_cache::{
            AtomicScript, CacheError, CacheRef, GcraOutcome, KeyTtl, LocalKeys, gcra,
        };
        use chatflow_errors::{ErrorKind, HasKind};

        const KEEP_MAX_LUA: &str = r#"
local current = redis.call('GET', KEYS[1])
local previous = -1
if current then previous = tonumber(current) end
local value = tonumber(ARGV[1])
if value > previous then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {value, previous}
end
return {previous, previous}
"#;

        /// Keeps the largest value seen, with a TTL; returns [max, previous or -1].
        fn keep_max(
            keys: &mut LocalKeys<'_>,
            declared: &[String],
            args: &[i64],
        ) -> Result<Vec<i64>, CacheError> {
            let previous = keys.get_int(&declared[0])?.unwrap_or(-1);
            if args[0] > previous {
                keys.set_int(
                    &declared[0],
                    args[0],
                    Some(Duration::from_millis(args[1] as u64)),
                )?;
                return Ok(vec![args[0], previous]);
            }
            Ok(vec![previous, previous])
        }

        static KEEP_MAX: AtomicScript = AtomicScript::new("keep_max", KEEP_MAX_LUA, keep_max);

        async fn limit(
            cache: &CacheRef,
            key: &str,
            interval: i64,
            tolerance: i64,
            cost: i64,
            now: i64,
        ) -> Vec<i64> {
            cache
                .eval(gcra(), &[key.to_owned()], &[interval, tolerance, cost, now])
                .await
                .unwrap()
        }

        #[tokio::test]
        async fn custom_scripts_run_atomically_with_their_keys() {
            let fx = $fixture().await;
            let keys = ["high".to_owned()];
            assert_eq!(
                fx.cache.eval(&KEEP_MAX, &keys, &[5, 60_000]).await.unwrap(),
                vec![5, -1]
            );
            assert_eq!(
                fx.cache.eval(&KEEP_MAX, &keys, &[3, 60_000]).await.unwrap(),
                vec![5, 5]
            );
            assert_eq!(
                fx.cache.eval(&KEEP_MAX, &keys, &[9, 60_000]).await.unwrap(),
                vec![9, 5]
            );
            assert_eq!(
                fx.cache.get("high").await.unwrap().as_deref(),
                Some(&b"9"[..])
            );
            assert!(matches!(
                fx.cache.ttl("high").await.unwrap(),
                KeyTtl::ExpiresIn(_)
            ));
            assert_eq!(KEEP_MAX.name(), "keep_max");
        }

        #[tokio::test]
        async fn gcra_admits_exactly_the_burst_of_concurrent_requests() {
            let fx = $fixture().await;
            let (n, burst, interval) = (50, 10, 60_000);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            let requests = (0..n).map(|_| {
                let cache = fx.cache.clone();
                tokio::spawn(async move {
                    limit(&cache, "user:1", interval, (burst - 1) * interval, 1, now).await
                })
            });
            let mut remaining: Vec<i64> = Vec::new();
            let mut refused = 0;
            for reply in futures::future::join_all(requests).await {
                let outcome = GcraOutcome::from_reply(&reply.unwrap()).unwrap();
                if outcome.allowed {
                    remaining.push(outcome.remaining as i64);
                } else {
                    refused += 1;
                    assert_eq!(outcome.remaining, 0);
                    assert!(
                        outcome
                            .retry_after
                            .is_some_and(|d| d <= Duration::from_millis(interval as u64))
                    );
                }
            }
            remaining.sort_unstable();
            assert_eq!(
                remaining,
                (0..burst).collect::<Vec<_>>(),
                "exactly {burst} admitted"
            );
            assert_eq!(refused, n - burst);
        }

        #[tokio::test]
        async fn gcra_refills_and_reports_retry_after() {
            let fx = $fixture().await;
            let c = &fx.cache;
            // Ten seconds per token, bursts of three.
            let (t, tau) = (10_000, 20_000);
            assert_eq!(limit(c, "k", t, tau, 1, 100_000).await, vec![1, 0, 2]);
            assert_eq!(limit(c, "k", t, tau, 1, 100_000).await, vec![1, 0, 1]);
            assert_eq!(limit(c, "k", t, tau, 1, 100_000).await, vec![1, 0, 0]);
            assert_eq!(limit(c, "k", t, tau, 1, 100_000).await, vec![0, 10_000, 0]);
            assert_eq!(limit(c, "k", t, tau, 1, 104_000).await, vec![0, 6_000, 0]);
            assert_eq!(
                limit(c, "k", t, tau, 0, 110_000).await,
                vec![1, 0, 1],
                "cost 0 only looks"
            );
            assert_eq!(limit(c, "k", t, tau, 1, 110_000).await, vec![1, 0, 0]);
            assert_eq!(limit(c, "k", t, tau, 2, 125_000).await, vec![0, 5_000, 1]);
            assert_eq!(
                limit(c, "k", t, tau, 4, 500_000).await,
                vec![0, -1, 3],
                "never fits"
            );
            assert_eq!(limit(c, "k", t, tau, 3, 500_000).await, vec![1, 0, 0]);
            match c.ttl("k").await.unwrap() {
                KeyTtl::ExpiresIn(left) => {
                    assert!(left <= Duration::from_millis(30_000), "{left:?}")
                }
                other => panic!("the limiter key must expire, got {other:?}"),
            }
        }

        #[tokio::test]
        async fn gcra_rejects_bad_arguments() {
            let fx = $fixture().await;
            let key = ["k".to_owned()];
            let bad_args: [&[i64]; 6] = [
                &[0, 0, 1, 1_000],
                &[1_000, -1, 1, 1_000],
                &[1_000, 0, -1, 1_000],
                &[1_000, 0, chatflow_cache::GCRA_MAX_COST + 1, 1_000],
                &[1_000, 0, 1, -5],
                &[1_000, 0, 1],
            ];
            for args in bad_args {
                let err = fx.cache.eval(gcra(), &key, args).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{args:?}: {err}");
            }
            let err = fx
                .cache
                .eval(gcra(), &[], &[1_000, 0, 1, 1_000])
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            fx.cache.set("k", b"not a time", None).await.unwrap();
            let err = fx
                .cache
                .eval(gcra(), &key, &[1_000, 0, 1, 1_000])
                .await
                .unwrap_err();
            assert!(matches!(err, CacheError::WrongType(_)), "{err}");
        }
    };
}
