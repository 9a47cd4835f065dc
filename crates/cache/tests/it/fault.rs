//! Redis failures: a private `redis-server` per test is killed, frozen and
//! brought back while one handle keeps working. The shared Redis is never touched.

use std::time::{Duration, Instant};

use chatflow_cache::{CacheOptions, CacheRef, connect, gcra};
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_testkit::server::{PrivateServer, free_port};
use futures::StreamExt;

const OP_TIMEOUT: Duration = Duration::from_millis(500);
/// Scheduling slack on a loaded two-core machine.
const SLACK: Duration = Duration::from_secs(1);

/// A private `redis-server` on a port of its own; killed when dropped.
async fn private_redis() -> PrivateServer {
    PrivateServer::start("redis-server", Duration::from_secs(10), |port| {
        let mut command = tokio::process::Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir());
        command
    })
    .await
}

fn url(server: &PrivateServer) -> String {
    format!("redis://127.0.0.1:{}", server.port())
}

/// Sends SIGSTOP or SIGCONT: the server keeps its sockets but stops answering.
fn signal(server: &PrivateServer, signal: &str) {
    let pid = server.pid().expect("server not running").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

fn options() -> CacheOptions {
    CacheOptions {
        key_prefix: Some(crate::unique_prefix()),
        op_timeout: OP_TIMEOUT,
    }
}

/// Runs one of each kind of operation; each must fail `Unavailable` in time.
async fn assert_all_unavailable(cache: &CacheRef) {
    for op in [
        "get",
        "set",
        "incr",
        "expiring_set_members",
        "eval",
        "publish",
        "subscribe",
        "ping",
    ] {
        let started = Instant::now();
        let result = match op {
            "get" => cache.get("k").await.map(drop),
            "set" => cache.set("k", b"v", None).await,
            "incr" => cache.incr("n", 1, None).await.map(drop),
            "expiring_set_members" => cache.expiring_set_members("s").await.map(drop),
            "eval" => cache
                .eval(gcra(), &["l".to_owned()], &[1_000, 0, 1, 1_000])
                .await
                .map(drop),
            "publish" => cache.publish("c", b"x").await,
            "subscribe" => cache.subscribe("c").await.map(drop),
            _ => cache.ping().await,
        };
        let elapsed = started.elapsed();
        let err = result.expect_err(op);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{op}: {err}");
        assert!(elapsed < OP_TIMEOUT + SLACK, "{op} took {elapsed:?}");
    }
}

/// Polls until a write succeeds again on the same handle.
async fn wait_for_recovery(cache: &CacheRef) {
    let cache = cache.clone();
    crate::eventually("recovery", Duration::from_secs(20), || {
        let cache = cache.clone();
        async move { cache.set("k", b"back", None).await.is_ok() }
    })
    .await;
}

/// Checks commands and pub/sub work on `cache`.
async fn assert_working(cache: &CacheRef) {
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some(&b"back"[..]));
    let mut stream = cache.subscribe("c").await.unwrap();
    cache.publish("c", b"hello").await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert_eq!(message.unwrap().unwrap().as_ref(), b"hello");
}

/// The subscription reports the lost link, then ends.
async fn assert_subscription_lost(stream: &mut chatflow_cache::MessageStream, within: Duration) {
    let item = tokio::time::timeout(within, stream.next())
        .await
        .expect("link loss not reported");
    let err = item.expect("stream ended without an error").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let end = tokio::time::timeout(within, stream.next()).await.unwrap();
    assert!(end.is_none(), "the stream ends after the error");
}

#[tokio::test]
async fn a_server_that_is_down_at_connect_is_unavailable_in_time() {
    let port = free_port();
    let started = Instant::now();
    let err = connect(&format!("redis://127.0.0.1:{port}"), options())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(started.elapsed() < OP_TIMEOUT + SLACK);
}

#[tokio::test]
async fn a_killed_server_is_unavailable_then_the_same_handle_recovers() {
    let mut server = private_redis().await;
    let cache = connect(&url(&server), options()).await.unwrap();
    cache.set("k", b"v", None).await.unwrap();
    let mut stream = cache.subscribe("live").await.unwrap();

    server.kill().await;
    assert_subscription_lost(&mut stream, Duration::from_secs(5)).await;
    // Twice: once on the broken connection, once while reconnects are failing.
    assert_all_unavailable(&cache).await;
    assert_all_unavailable(&cache).await;

    server.restart().await;
    wait_for_recovery(&cache).await;
    assert_working(&cache).await;
}

#[tokio::test]
async fn a_frozen_server_times_out_then_the_same_handle_recovers() {
    let server = private_redis().await;
    let cache = connect(&url(&server), options()).await.unwrap();
    let mut stream = cache.subscribe("live").await.unwrap();

    signal(&server, "-STOP");
    assert_all_unavailable(&cache).await;
    // The idle pub/sub link is pinged, so a silent server is noticed too.
    assert_subscription_lost(&mut stream, Duration::from_secs(10)).await;

    signal(&server, "-CONT");
    wait_for_recovery(&cache).await;
    assert_working(&cache).await;
}

#[tokio::test]
async fn an_idle_subscription_survives_heartbeats() {
    let options = CacheOptions {
        op_timeout: Duration::from_millis(200),
        ..options()
    };
    let cache = connect(&crate::redis_url(), options).await.unwrap();
    let mut stream = cache.subscribe("quiet").await.unwrap();
    // Idle across two heartbeats (1 s each at this op_timeout) on purpose.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    cache.publish("quiet", b"still here").await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert_eq!(message.unwrap().unwrap().as_ref(), b"still here");
}
