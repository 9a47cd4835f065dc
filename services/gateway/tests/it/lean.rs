//! The node's clock closes connections without a timer of their own: a
//! connection that never says `hello`, and one that goes silent. Tokio time
//! is paused once the node runs (the backends start on real time), on the
//! embedded backend (no remote server to race the clock).

use chatflow_testkit::BackendKind;
use chatflow_testkit::ws::Client;
use serde_json::json;

use crate::app::{ALICE, BOB, TestGateway, test_config};

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed_by_the_node_clock() {
    let config = chatflow_gateway::Config {
        hello_timeout_secs: 2,
        ..test_config()
    };
    let gw = TestGateway::spawn_with(BackendKind::Embedded, config).await;
    tokio::time::pause();
    let mut silent = Client::connect(&gw.ws_url, Some(&gw.token(ALICE))).await;
    let started = tokio::time::Instant::now();
    let (code, reason) = silent.closed().await;
    assert_eq!((code, reason.as_str()), (4000, "no hello in time"));
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(1) && waited <= std::time::Duration::from_secs(4),
        "closed after {waited:?}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_silent_session_is_closed_at_its_idle_timeout_and_pings_keep_one_open() {
    let config = chatflow_gateway::Config {
        idle_timeout_secs: 6,
        ..test_config()
    };
    let gw = TestGateway::spawn_with(BackendKind::Embedded, config).await;
    tokio::time::pause();
    let (mut silent, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
    let (mut pinging, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
    let started = tokio::time::Instant::now();
    for i in 0..4 {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        pinging
            .send(json!({"type": "ping", "id": format!("p{i}")}))
            .await;
        assert_eq!(pinging.recv_type("pong").await["id"], format!("p{i}"));
    }
    // 12 s in: the pinging session outlived the idle timeout twice over.
    let (code, _) = silent.closed().await;
    assert_eq!(code, 4009);
    assert!(started.elapsed() >= std::time::Duration::from_secs(6));
    pinging.send(json!({"type": "ping", "id": "last"})).await;
    assert_eq!(pinging.recv_type("pong").await["id"], "last");
    gw.shutdown().await;
}
