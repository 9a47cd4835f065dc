//! Integration tests for `chatflow-runtime`: one binary, one module per area.
//!
//! Servers bind port 0 and tests await readiness or completion, never sleep.

#![allow(clippy::unwrap_used)]

mod config;
mod health;
mod http_json;
mod process_globals;
mod serve;

use axum::Router;
use chatflow_runtime::serve::{bind, serve_http};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running HTTP server for one test.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Cancels the server.
    pub token: CancellationToken,
    /// Ends with `serve_http`'s result.
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Serves `router` on a fresh port.
pub async fn spawn_http(router: Router) -> TestServer {
    let listener = bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let token = CancellationToken::new();
    let task = tokio::spawn(serve_http(listener, router, token.clone()));
    TestServer { url, token, task }
}
