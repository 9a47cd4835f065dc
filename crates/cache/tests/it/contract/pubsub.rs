//! Publish/subscribe.

/// Instantiates the pub/sub cases for one backend.
#[macro_export]
macro_rules! pubsub_cases {
    ($fixture:path, $backend:literal) => {
        use std::time::Duration;

        use bytes::Bytes;
        use chatflow_cache::{CacheError, MessageStream, SUBSCRIBER_BUFFER};
        use futures::StreamExt;

        /// The next item, failing the test instead of hanging.
        async fn next(stream: &mut MessageStream) -> Option<Result<Bytes, CacheError>> {
            tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("no message within 5 s")
        }

        async fn next_payload(stream: &mut MessageStream) -> Bytes {
            next(stream)
                .await
                .expect("stream ended")
                .expect("stream failed")
        }

        #[tokio::test]
        async fn delivers_to_every_subscriber_of_the_channel_only() {
            let fx = $fixture().await;
            let mut first = fx.cache.subscribe("news").await.unwrap();
            let mut second = fx.cache.subscribe("news").await.unwrap();
            let mut other = fx.cache.subscribe("sports").await.unwrap();
            fx.cache.publish("news", b"hello").await.unwrap();
            fx.cache.publish("sports", b"goal").await.unwrap();
            fx.cache.publish("news", b"bye").await.unwrap();
            for stream in [&mut first, &mut second] {
                assert_eq!(next_payload(stream).await, Bytes::from_static(b"hello"));
                assert_eq!(
                    next_payload(stream).await,
                    Bytes::from_static(b"bye"),
                    "no foreign message"
                );
            }
            assert_eq!(next_payload(&mut other).await, Bytes::from_static(b"goal"));
        }

        #[tokio::test]
        async fn keeps_publish_order() {
            let fx = $fixture().await;
            let mut stream = fx.cache.subscribe("seq").await.unwrap();
            for i in 0..200u32 {
                fx.cache.publish("seq", &i.to_be_bytes()).await.unwrap();
            }
            for i in 0..200u32 {
                assert_eq!(
                    next_payload(&mut stream).await.as_ref(),
                    &i.to_be_bytes()[..]
                );
            }
        }

        #[tokio::test]
        async fn dropping_a_stream_unsubscribes_only_it() {
            let fx = $fixture().await;
            fx.cache.publish("nobody", b"dropped").await.unwrap();
            let first = fx.cache.subscribe("c").await.unwrap();
            let mut second = fx.cache.subscribe("c").await.unwrap();
            drop(first);
            fx.cache.publish("c", b"1").await.unwrap();
            assert_eq!(next_payload(&mut second).await, Bytes::from_static(b"1"));
            drop(second);
            // Give the release a chance to run before subscribing again.
            tokio::task::yield_now().await;
            let mut again = fx.cache.subscribe("c").await.unwrap();
            fx.cache.publish("c", b"2").await.unwrap();
            assert_eq!(next_payload(&mut again).await, Bytes::from_static(b"2"));
        }

        #[tokio::test]
        async fn a_slow_subscriber_is_told_it_lagged() {
            let fx = $fixture().await;
            let mut slow = fx.cache.subscribe("firehose").await.unwrap();
            let total = 3 * SUBSCRIBER_BUFFER as u32;
            for i in 0..total {
                fx.cache
                    .publish("firehose", &i.to_be_bytes())
                    .await
                    .unwrap();
            }
            let (mut lagged, mut last) = (0u64, None);
            while last != Some(total - 1) {
                match next(&mut slow).await.expect("stream ended") {
                    Ok(payload) => {
                        last = Some(u32::from_be_bytes(payload.as_ref().try_into().unwrap()))
                    }
                    Err(CacheError::Lagged(skipped)) => lagged += skipped,
                    Err(other) => panic!("unexpected {other}"),
                }
            }
            assert!(
                lagged > 0,
                "a subscriber {total} messages behind must be told"
            );
        }
    };
}
