//! S3 outages: a private s3s-fs is killed and restarted under one client.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chatflow_blobs::PutOptions;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_testkit::server::{PrivateServer, free_port};
use tokio::process::Command;

const OP_TIMEOUT: Duration = Duration::from_secs(3);
/// Scheduling and process start-up on a busy CI machine.
const SLACK: Duration = Duration::from_secs(3);

fn s3s_binary() -> String {
    std::env::var("CHATFLOW_S3S_FS_BIN").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/chatflow/tools/bin/s3s-fs")
    })
}

/// Starts a private s3s-fs over `data` and waits until it accepts connections.
async fn start_server(data: &Path) -> PrivateServer {
    let data = data.to_owned();
    PrivateServer::start("s3s-fs", Duration::from_secs(20), move |port| {
        let mut command = Command::new(s3s_binary());
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--access-key",
                "AKIDLOCAL",
                "--secret-key",
                "secretlocal123",
            ])
            .arg(&data);
        command
    })
    .await
}

#[tokio::test]
async fn a_dead_server_is_unavailable_within_the_timeout_and_recovery_needs_no_new_client() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_server(data.path()).await;
    let endpoint = format!("http://127.0.0.1:{}", server.port());
    let store = chatflow_blobs::connect("s3://faults", crate::s3_options(&endpoint, OP_TIMEOUT))
        .await
        .unwrap();
    store.ensure_bucket().await.unwrap();
    store
        .put("k", Bytes::from_static(b"before"), PutOptions::default())
        .await
        .unwrap();

    server.kill().await;
    for op in ["get", "head", "put", "list", "ping"] {
        let started = Instant::now();
        let result = match op {
            "get" => store.get("k", None).await.map(drop),
            "head" => store.head("k").await.map(drop),
            "put" => {
                store
                    .put("k", Bytes::from_static(b"lost"), PutOptions::default())
                    .await
            }
            "list" => store.list("", None, 10).await.map(drop),
            _ => store.ping().await,
        };
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{op}: {err}");
        assert!(
            started.elapsed() < OP_TIMEOUT + SLACK,
            "{op} took {:?}",
            started.elapsed()
        );
    }

    server.restart().await;
    assert_eq!(&store.get("k", None).await.unwrap().bytes[..], b"before");
    store
        .put("k", Bytes::from_static(b"after"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(&store.get("k", None).await.unwrap().bytes[..], b"after");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_within_the_timeout() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let store = chatflow_blobs::connect("s3://nobody", crate::s3_options(&endpoint, OP_TIMEOUT))
        .await
        .unwrap();
    let started = Instant::now();
    let err = store.ensure_bucket().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // ensure_bucket makes up to three requests, each bounded.
    assert!(
        started.elapsed() < 3 * OP_TIMEOUT + SLACK,
        "took {:?}",
        started.elapsed()
    );
}
