//! Many and large objects: listing, multipart streams, failed uploads and
//! unusual keys.
//!
//! Racing overwrites of one key are tested on the directory backend only
//! (`local::concurrent_overwrites_keep_metadata_with_their_bytes`): S3 makes
//! each PUT atomic, but s3s-fs writes an object's checksum and metadata files
//! apart from its body, so racing PUTs there can leave a body whose checksum
//! belongs to another write (the SDK then fails the read).

/// Instantiates the many-and-large-object tests for one backend.
#[macro_export]
macro_rules! bulk_suite {
    ($fixture:path) => {
        use bytes::Bytes;
        use chatflow_blobs::PutOptions;
        use chatflow_errors::{ErrorKind, HasKind};
        use $crate::contract::{chunked, pattern, typed};

        const MIB: usize = 1024 * 1024;

        #[tokio::test]
        async fn list_paginates_within_a_prefix() {
            let fx = $fixture().await;
            let puts = (0..120).map(|i| {
                let store = fx.store.clone();
                async move {
                    let body = Bytes::from(vec![b'x'; i % 7]);
                    store
                        .put(&format!("list/item-{i:03}"), body, PutOptions::default())
                        .await
                }
            });
            for result in futures::future::join_all(puts).await {
                result.unwrap();
            }
            fx.store
                .put("lists", Bytes::new(), PutOptions::default())
                .await
                .unwrap();
            fx.store
                .put("other/x", Bytes::new(), PutOptions::default())
                .await
                .unwrap();

            let (mut seen, mut cursor, mut pages) = (Vec::new(), None, Vec::new());
            loop {
                let page = fx.store.list("list/", cursor.as_deref(), 50).await.unwrap();
                pages.push(page.entries.len());
                seen.extend(page.entries);
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(pages, [50, 50, 20]);
            let expected: Vec<(String, u64)> = (0..120)
                .map(|i| (format!("list/item-{i:03}"), (i % 7) as u64))
                .collect();
            let got: Vec<(String, u64)> = seen.into_iter().map(|e| (e.key, e.size)).collect();
            assert_eq!(got, expected);

            let partial = fx.store.list("list/item-11", None, 1000).await.unwrap();
            let keys: Vec<_> = partial.entries.iter().map(|e| e.key.as_str()).collect();
            assert_eq!(
                keys,
                (110..120)
                    .map(|i| format!("list/item-{i}"))
                    .collect::<Vec<_>>()
            );
            let all = fx.store.list("", None, 1000).await.unwrap();
            assert_eq!(
                all.entries.len(),
                122,
                "the store prefix isolates this test"
            );
            assert!(
                fx.store
                    .list("nothing/", None, 10)
                    .await
                    .unwrap()
                    .entries
                    .is_empty()
            );
        }

        #[tokio::test]
        async fn a_streamed_20_mib_object_round_trips_byte_exact() {
            let fx = $fixture().await;
            let data = pattern(20 * MIB + 12_345);
            let size = fx
                .store
                .put_stream(
                    "big/stream.bin",
                    chunked(data.clone(), 333 * 1024),
                    typed("video/mp4", "m"),
                )
                .await
                .unwrap();
            assert_eq!(size, data.len() as u64);
            let object = fx.store.get("big/stream.bin", None).await.unwrap();
            assert_eq!(object.bytes.len(), data.len());
            assert!(object.bytes[..] == data[..], "bytes differ");
            assert_eq!(
                (
                    object.content_type.as_str(),
                    object.metadata["owner"].as_str()
                ),
                ("video/mp4", "m")
            );
            let middle = fx
                .store
                .get(
                    "big/stream.bin",
                    Some(8 * MIB as u64 - 3..8 * MIB as u64 + 3),
                )
                .await
                .unwrap();
            assert_eq!(&middle.bytes[..], &data[8 * MIB - 3..8 * MIB + 3]);
            // The shared S3 server's directory outlives test runs.
            fx.store.delete("big/stream.bin").await.unwrap();
        }

        #[tokio::test]
        async fn a_large_put_round_trips_byte_exact() {
            let fx = $fixture().await;
            let data = pattern(17 * MIB);
            fx.store
                .put(
                    "big/put.bin",
                    Bytes::from(data.clone()),
                    PutOptions::default(),
                )
                .await
                .unwrap();
            let object = fx.store.get("big/put.bin", None).await.unwrap();
            assert!(object.bytes[..] == data[..], "bytes differ");
            assert_eq!(
                fx.store.head("big/put.bin").await.unwrap().unwrap().size,
                data.len() as u64
            );
            fx.store.delete("big/put.bin").await.unwrap();
        }

        #[tokio::test]
        async fn a_failing_stream_stores_nothing() {
            let fx = $fixture().await;
            fx.store
                .put("kept", Bytes::from_static(b"old"), PutOptions::default())
                .await
                .unwrap();
            for size in [1024, 10 * MIB] {
                let good = futures::stream::iter([Ok(Bytes::from(pattern(size)))]);
                let bad = futures::stream::iter([Err(std::io::Error::other("client went away"))]);
                let body: chatflow_blobs::BlobStream =
                    Box::pin(futures::StreamExt::chain(good, bad));
                let err = fx
                    .store
                    .put_stream("kept", body, PutOptions::default())
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
                assert_eq!(&fx.store.get("kept", None).await.unwrap().bytes[..], b"old");
            }
        }

        #[tokio::test]
        async fn unusual_keys_round_trip_and_list_exactly() {
            let fx = $fixture().await;
            // s3s-fs names a metadata file after the whole key, so keys stay
            // short here; the directory backend's long keys are tested in `local`.
            let long = format!("deep/{}/{}/end.bin", "s".repeat(40), "Ü".repeat(20));
            let mut keys = vec![
                "odd/Mixed Case (1).JPG".to_owned(),
                "odd/ünïcödé/日本語.txt".to_owned(),
                "odd/a+b=c&d%20e;f,g@h".to_owned(),
                "odd/.hidden".to_owned(),
                "odd/x..y".to_owned(),
                long,
            ];
            for (i, key) in keys.iter().enumerate() {
                fx.store
                    .put(
                        key,
                        Bytes::from(vec![i as u8; i + 1]),
                        PutOptions::default(),
                    )
                    .await
                    .unwrap();
            }
            for (i, key) in keys.iter().enumerate() {
                let object = fx.store.get(key, None).await.unwrap();
                assert_eq!(object.bytes.to_vec(), vec![i as u8; i + 1], "{key}");
            }
            keys.sort();
            let listed: Vec<String> = fx
                .store
                .list("", None, 100)
                .await
                .unwrap()
                .entries
                .into_iter()
                .map(|e| e.key)
                .collect();
            assert_eq!(listed, keys);
        }
    };
}
