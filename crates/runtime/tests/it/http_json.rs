//! `ApiJson` and `ApiError` behind a real router.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_runtime::{ApiError, ApiJson};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::spawn_http;

#[derive(Deserialize)]
struct SendMessage {
    text: String,
    #[serde(default)]
    silent: bool,
}

#[derive(Serialize)]
struct Ack {
    seq: u64,
    echoed: String,
}

#[derive(Debug, thiserror::Error)]
#[error("conversation is muted")]
struct Muted;

impl HasKind for Muted {
    fn kind(&self) -> ErrorKind {
        ErrorKind::PermissionDenied
    }
}

async fn send(ApiJson(msg): ApiJson<SendMessage>) -> Result<ApiJson<Ack>, ApiError> {
    if msg.silent {
        return Err(Muted.into());
    }
    Ok(ApiJson(Ack {
        seq: 1,
        echoed: msg.text,
    }))
}

fn router() -> Router {
    Router::new()
        .route("/v1/messages", post(send))
        .layer(DefaultBodyLimit::max(256))
}

async fn post_raw(url: &str, content_type: &str, body: String) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/messages"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Asserts a 400 `invalid_argument` whose message starts with `prefix`.
fn assert_invalid((status, body): (StatusCode, Value), prefix: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_argument", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(prefix),
        "{message:?} should start with {prefix:?}"
    );
}

#[tokio::test]
async fn valid_body_round_trips() {
    let server = spawn_http(router()).await;
    let (status, body) = post_raw(&server.url, "application/json", r#"{"text":"hi"}"#.into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "seq": 1, "echoed": "hi" }));
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_precise_message() {
    let server = spawn_http(router()).await;
    let json = "application/json";
    assert_invalid(
        post_raw(&server.url, json, r#"{"text":"#.into()).await,
        "malformed JSON: EOF while parsing",
    );
    assert_invalid(
        post_raw(&server.url, json, r#"{"text":42}"#.into()).await,
        "invalid value at `text`: invalid type: integer `42`, expected a string",
    );
    assert_invalid(
        post_raw(&server.url, json, r#"{"text":"a","prio":1}"#.into()).await,
        "unknown field `prio`",
    );
    assert_invalid(
        post_raw(&server.url, "text/plain", r#"{"text":"a"}"#.into()).await,
        "expected a request body with `content-type: application/json`",
    );
    let huge = format!(r#"{{"text":"{}"}}"#, "x".repeat(1024));
    assert_invalid(
        post_raw(&server.url, json, huge).await,
        "request body is too large",
    );
}

#[tokio::test]
async fn crate_errors_map_through_their_kind() {
    let server = spawn_http(router()).await;
    let (status, body) = post_raw(
        &server.url,
        "application/json",
        r#"{"text":"a","silent":true}"#.into(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({ "error": { "code": "permission_denied", "message": "conversation is muted" } })
    );
}
