//! What only the directory backend has: its own presigned-URL endpoint,
//! durability across reopening, and files that never leave the root.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use chatflow_blobs::{BlobOptions, PresignConstraints, PutOptions};
use chatflow_errors::{ErrorKind, HasKind};
use reqwest::StatusCode;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_router_explains_each_rejection() {
    let fx = crate::file_fixture().await;
    let constraints = PresignConstraints {
        content_type: Some("image/png".into()),
        content_length: Some(4),
    };
    let put = fx
        .store
        .presign_put("p.png", MINUTE, constraints)
        .await
        .unwrap();
    let send = |ct: &'static str, body: &'static str| {
        fx.http
            .put(&put.url)
            .header("content-type", ct)
            .body(body)
            .send()
    };

    let wrong_type = send("text/plain", "abcd").await.unwrap();
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    assert!(
        wrong_type
            .text()
            .await
            .unwrap()
            .contains("requires content-type image/png")
    );
    let too_long = send("image/png", "abcdef").await.unwrap();
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
    assert!(
        too_long
            .text()
            .await
            .unwrap()
            .contains("requires content-length 4")
    );
    let as_get = fx.http.get(&put.url).send().await.unwrap();
    assert_eq!(as_get.status(), StatusCode::FORBIDDEN);
    assert!(
        as_get
            .text()
            .await
            .unwrap()
            .contains("signed for PUT, not GET")
    );

    let unsigned = put.url.split("&sig=").next().unwrap().to_owned();
    let malformed = fx.http.get(&unsigned).send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let forged = fx
        .http
        .get(crate::presigned::tamper_signature(&put.url))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("signature does not match")
    );
    assert_eq!(fx.store.head("p.png").await.unwrap(), None);
}

#[tokio::test]
async fn urls_only_work_on_the_store_that_signed_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let options = |prefix: &str, secret: &str| BlobOptions {
        key_prefix: Some(prefix.to_owned()),
        presign_base_url: Some("http://127.0.0.1:1".to_owned()),
        presign_secret: Some(secret.to_owned()),
        ..BlobOptions::default()
    };
    let signer = chatflow_blobs::connect(&url, options("a/", "first-secret-0123456789"))
        .await
        .unwrap();
    let presigned = signer.presign_get("k", MINUTE).await.unwrap();
    let path_and_query = presigned
        .url
        .strip_prefix("http://127.0.0.1:1")
        .unwrap()
        .to_owned();
    for (prefix, secret, expected) in [
        ("a/", "first-secret-0123456789", StatusCode::NOT_FOUND),
        ("b/", "first-secret-0123456789", StatusCode::FORBIDDEN),
        ("a/", "other-secret-0123456789", StatusCode::FORBIDDEN),
    ] {
        let store = chatflow_blobs::connect(&url, options(prefix, secret))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let _server = crate::ServerGuard(tokio::spawn(async move {
            axum::serve(listener, chatflow_blobs::presigned_router(store))
                .await
                .unwrap();
        }));
        let status = reqwest::get(format!("{base}{path_and_query}"))
            .await
            .unwrap()
            .status();
        assert_eq!(status, expected, "prefix {prefix}, secret {secret}");
    }
}

#[tokio::test]
async fn objects_survive_reopening_and_files_stay_under_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let url = format!("file://{}", root.display());
    let long_segment = "Ä".repeat(300);
    let keys = ["../escape", "..", "/etc/passwd"];
    {
        let store = chatflow_blobs::connect(&url, BlobOptions::default())
            .await
            .unwrap();
        for bad in keys {
            assert!(
                store
                    .put(bad, Bytes::new(), PutOptions::default())
                    .await
                    .is_err()
            );
        }
        store
            .put("x/y", Bytes::from_static(b"kept"), PutOptions::default())
            .await
            .unwrap();
        store
            .put(
                &format!("long/{long_segment}"),
                Bytes::from_static(b"long"),
                PutOptions::default(),
            )
            .await
            .unwrap();
        store
            .put(
                "x",
                Bytes::from_static(b"file beside dir"),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    let store = chatflow_blobs::connect(&url, BlobOptions::default())
        .await
        .unwrap();
    assert_eq!(&store.get("x/y", None).await.unwrap().bytes[..], b"kept");
    assert_eq!(
        &store.get("x", None).await.unwrap().bytes[..],
        b"file beside dir"
    );
    assert_eq!(
        &store
            .get(&format!("long/{long_segment}"), None)
            .await
            .unwrap()
            .bytes[..],
        b"long"
    );
    let listed: Vec<String> = store
        .list("", None, 10)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        listed,
        [
            format!("long/{long_segment}"),
            "x".to_owned(),
            "x/y".to_owned()
        ]
    );

    let mut files = Vec::new();
    collect_files(dir.path(), &mut files);
    assert!(files.iter().all(|f| f.starts_with(&root)), "{files:?}");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {names:?}"
    );
    assert!(names.iter().all(|n| n.len() <= 255));
    assert_eq!(
        names.len(),
        6,
        "one sidecar and one data file per object: {names:?}"
    );
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn presigning_needs_a_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let store = chatflow_blobs::connect(
        &format!("file://{}", dir.path().display()),
        BlobOptions::default(),
    )
    .await
    .unwrap();
    let err = store.presign_get("k", MINUTE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("presign_base_url"), "{err}");
}

#[tokio::test]
async fn bad_urls_and_options_are_rejected_at_connect() {
    let dir = tempfile::tempdir().unwrap();
    let file_url = format!("file://{}", dir.path().display());
    let cases = [
        ("ftp://host/x", BlobOptions::default()),
        ("file://", BlobOptions::default()),
        ("s3://Bad_Bucket", BlobOptions::default()),
        ("s3://bucket/with/path", BlobOptions::default()),
        (
            file_url.as_str(),
            BlobOptions {
                op_timeout: Duration::ZERO,
                ..BlobOptions::default()
            },
        ),
        (
            file_url.as_str(),
            BlobOptions {
                presign_secret: Some("short".into()),
                ..BlobOptions::default()
            },
        ),
        (
            file_url.as_str(),
            BlobOptions {
                key_prefix: Some("../up".into()),
                ..BlobOptions::default()
            },
        ),
        (
            file_url.as_str(),
            BlobOptions {
                presign_base_url: Some("ftp://x".into()),
                ..BlobOptions::default()
            },
        ),
    ];
    for (url, options) in cases {
        let err = chatflow_blobs::connect(url, options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{url}: {err}");
    }
    let mut sse = crate::s3_options("http://127.0.0.1:1", MINUTE);
    sse.s3.server_side_encryption = Some("rot13".into());
    let err = chatflow_blobs::connect("s3://bucket", sse)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[tokio::test]
async fn the_router_of_an_s3_store_serves_nothing() {
    let store = chatflow_blobs::connect(
        "s3://bucket",
        crate::s3_options("http://127.0.0.1:1", MINUTE),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let _server = crate::ServerGuard(tokio::spawn(async move {
        axum::serve(listener, chatflow_blobs::presigned_router(store))
            .await
            .unwrap();
    }));
    let status = reqwest::get(format!("{base}/blobs/abc?method=GET&expires=1&sig=00"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_overwrites_keep_metadata_with_their_bytes() {
    let fx = crate::file_fixture().await;
    fx.store
        .put(
            "c",
            Bytes::from(vec![0; 100]),
            crate::contract::typed("x/y", "0"),
        )
        .await
        .unwrap();
    let writers = (1..8u8).map(|i| {
        let store = fx.store.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                let body = Bytes::from(vec![i; 100 + usize::from(i)]);
                store
                    .put("c", body, crate::contract::typed("x/y", &i.to_string()))
                    .await
                    .unwrap();
            }
        })
    });
    let readers = (0..4).map(|_| {
        let store = fx.store.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                let object = store.get("c", None).await.unwrap();
                let writer: u8 = object.metadata["owner"].parse().unwrap();
                assert!(
                    object.bytes.iter().all(|b| *b == writer),
                    "metadata of another write"
                );
                assert_eq!(object.size, 100 + u64::from(writer));
            }
        })
    });
    for task in futures::future::join_all(writers.chain(readers)).await {
        task.unwrap();
    }
}
