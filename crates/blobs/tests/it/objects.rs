//! Single-object semantics: writes, reads, ranges, copies, deletes and the
//! validation every backend applies before calling its storage.

/// Instantiates the single-object tests for one backend.
#[macro_export]
macro_rules! objects_suite {
    ($fixture:path) => {
        use bytes::Bytes;
        use chatflow_blobs::{BlobError, PutOptions};
        use chatflow_errors::{ErrorKind, HasKind};
        use $crate::contract::{kind_of, typed};

        #[tokio::test]
        async fn put_get_head_keep_bytes_content_type_and_metadata() {
            let fx = $fixture().await;
            let options = typed("image/png", "u-42");
            fx.store
                .put("a/b.png", Bytes::from_static(b"png bytes"), options.clone())
                .await
                .unwrap();
            let object = fx.store.get("a/b.png", None).await.unwrap();
            assert_eq!(&object.bytes[..], b"png bytes");
            assert_eq!(object.size, 9);
            assert_eq!(object.content_type, "image/png");
            assert_eq!(object.metadata, options.metadata);
            let meta = fx.store.head("a/b.png").await.unwrap().unwrap();
            assert_eq!((meta.size, meta.content_type.as_str()), (9, "image/png"));
            assert_eq!(meta.metadata, options.metadata);
        }

        #[tokio::test]
        async fn defaults_and_empty_objects() {
            let fx = $fixture().await;
            fx.store
                .put("empty", Bytes::new(), PutOptions::default())
                .await
                .unwrap();
            let object = fx.store.get("empty", None).await.unwrap();
            assert_eq!((object.bytes.len(), object.size), (0, 0));
            assert_eq!(object.content_type, "application/octet-stream");
            assert!(object.metadata.is_empty());
        }

        #[tokio::test]
        async fn overwrite_replaces_bytes_and_metadata() {
            let fx = $fixture().await;
            fx.store
                .put(
                    "k",
                    Bytes::from_static(b"first version"),
                    typed("text/plain", "a"),
                )
                .await
                .unwrap();
            fx.store
                .put("k", Bytes::from_static(b"second"), typed("text/csv", "b"))
                .await
                .unwrap();
            let object = fx.store.get("k", None).await.unwrap();
            assert_eq!(&object.bytes[..], b"second");
            assert_eq!(
                (
                    object.content_type.as_str(),
                    object.metadata["owner"].as_str()
                ),
                ("text/csv", "b")
            );
        }

        #[tokio::test]
        async fn ranged_get_returns_the_slice_and_the_full_size() {
            let fx = $fixture().await;
            fx.store
                .put(
                    "r",
                    Bytes::from_static(b"0123456789"),
                    typed("text/plain", "r"),
                )
                .await
                .unwrap();
            let object = fx.store.get("r", Some(2..5)).await.unwrap();
            assert_eq!((&object.bytes[..], object.size), (&b"234"[..], 10));
            assert_eq!(object.content_type, "text/plain");
            let tail = fx.store.get("r", Some(7..1_000)).await.unwrap();
            assert_eq!(&tail.bytes[..], b"789");
            for bad in [10..12, 5..5] {
                let err = fx.store.get("r", Some(bad.clone())).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
            }
        }

        #[tokio::test]
        async fn delete_is_idempotent() {
            let fx = $fixture().await;
            fx.store
                .put("gone", Bytes::from_static(b"x"), PutOptions::default())
                .await
                .unwrap();
            fx.store.delete("gone").await.unwrap();
            fx.store.delete("gone").await.unwrap();
            fx.store.delete("never/existed").await.unwrap();
            assert_eq!(fx.store.head("gone").await.unwrap(), None);
            let err = fx.store.get("gone", None).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        }

        #[tokio::test]
        async fn copy_keeps_bytes_content_type_and_metadata() {
            let fx = $fixture().await;
            fx.store
                .put(
                    "src/a.txt",
                    Bytes::from_static(b"copied"),
                    typed("text/plain", "c"),
                )
                .await
                .unwrap();
            fx.store.copy("src/a.txt", "dst/ä b+c.txt").await.unwrap();
            let copy = fx.store.get("dst/ä b+c.txt", None).await.unwrap();
            assert_eq!(&copy.bytes[..], b"copied");
            assert_eq!(
                (copy.content_type.as_str(), copy.metadata["owner"].as_str()),
                ("text/plain", "c")
            );
            assert!(fx.store.head("src/a.txt").await.unwrap().is_some());
            fx.store.copy("src/a.txt", "src/a.txt").await.unwrap();
            assert_eq!(
                &fx.store.get("src/a.txt", None).await.unwrap().bytes[..],
                b"copied"
            );
            let err = fx
                .store
                .copy("src/missing", "src/missing")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            let err = fx.store.copy("src/missing", "dst/x").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        }

        #[tokio::test]
        async fn missing_keys_are_not_found() {
            let fx = $fixture().await;
            let err = fx.store.get("no/such/key", None).await.unwrap_err();
            assert!(matches!(err, BlobError::NotFound(_)), "{err}");
            assert_eq!(fx.store.head("no/such/key").await.unwrap(), None);
        }

        #[tokio::test]
        async fn invalid_keys_are_rejected_by_every_operation() {
            let fx = $fixture().await;
            let long = "k".repeat(1025);
            for bad in [
                "../x",
                "",
                "a/../b",
                "a\u{0}b",
                "a\nb",
                "tab\there",
                "/abs",
                "a//b",
                "dir/",
                long.as_str(),
            ] {
                let store = &fx.store;
                let put = store.put(bad, Bytes::new(), PutOptions::default()).await;
                assert_eq!(kind_of(put), ErrorKind::InvalidArgument, "put {bad:?}");
                assert_eq!(
                    kind_of(store.get(bad, None).await),
                    ErrorKind::InvalidArgument,
                    "get {bad:?}"
                );
                assert_eq!(
                    kind_of(store.head(bad).await),
                    ErrorKind::InvalidArgument,
                    "head {bad:?}"
                );
                assert_eq!(
                    kind_of(store.delete(bad).await),
                    ErrorKind::InvalidArgument,
                    "delete {bad:?}"
                );
                assert_eq!(
                    kind_of(store.copy("ok", bad).await),
                    ErrorKind::InvalidArgument,
                    "copy {bad:?}"
                );
                let presign = store
                    .presign_get(bad, std::time::Duration::from_secs(60))
                    .await;
                assert_eq!(
                    kind_of(presign),
                    ErrorKind::InvalidArgument,
                    "presign {bad:?}"
                );
            }
            let err = fx.store.list("../", None, 10).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            assert!(
                fx.store
                    .list("", None, 1000)
                    .await
                    .unwrap()
                    .entries
                    .is_empty()
            );
        }

        #[tokio::test]
        async fn invalid_metadata_and_limits_are_rejected() {
            let fx = $fixture().await;
            for (name, value) in [
                ("Upper", "v"),
                ("a_b", "v"),
                ("ok", "non-ascii é"),
                ("ok", "line\nbreak"),
            ] {
                let mut options = PutOptions::default();
                options.metadata.insert(name.to_owned(), value.to_owned());
                let err = fx.store.put("m", Bytes::new(), options).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}={value:?}");
            }
            let options = PutOptions {
                content_type: Some("bad\r\ntype".into()),
                ..PutOptions::default()
            };
            assert!(fx.store.put("m", Bytes::new(), options).await.is_err());
            for limit in [0, 1001] {
                let err = fx.store.list("", None, limit).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            }
            assert_eq!(
                fx.store.head("m").await.unwrap(),
                None,
                "nothing was written"
            );
        }
    };
}
