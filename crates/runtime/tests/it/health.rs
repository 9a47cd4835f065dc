//! `/healthz` and `/readyz` over real HTTP.

use chatflow_runtime::Health;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::spawn_http;

async fn get(url: &str) -> (StatusCode, Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn healthz_answers_while_the_process_lives() {
    let health = Health::new();
    let server = spawn_http(health.router()).await;
    let (status, body) = get(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok" }));
}

#[tokio::test]
async fn readyz_follows_readiness_checks_and_draining() {
    let health = Health::new();
    let server = spawn_http(health.router()).await;
    let readyz = format!("{}/readyz", server.url);

    let (status, body) = get(&readyz).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready until the service says so"
    );
    assert_eq!(body["status"], "not_ready");

    let mut readiness = health.subscribe();
    health.set_ready(true);
    readiness.wait_for(|r| r.is_ready()).await.unwrap();
    let (status, body) = get(&readyz).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ready" }));

    health.add_check("postgres", || async { Ok(()) });
    health.add_check("kafka", || async { Err("no brokers reachable".to_owned()) });
    let (status, body) = get(&readyz).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "failing_checks");
    assert_eq!(body["failing"], json!({ "kafka": "no brokers reachable" }));

    health.add_check("kafka", || async { Ok(()) }); // same name replaces
    assert_eq!(get(&readyz).await.0, StatusCode::OK);

    health.set_draining();
    let (status, body) = get(&readyz).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "draining");
    assert_eq!(
        get(&format!("{}/healthz", server.url)).await.0,
        StatusCode::OK,
        "draining is still alive"
    );
}
