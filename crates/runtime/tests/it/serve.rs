//! `serve_http` graceful shutdown.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::sync::{Notify, oneshot};

use crate::spawn_http;

#[tokio::test]
async fn cancelling_lets_the_in_flight_request_finish_then_stops() {
    let entered = Arc::new(Notify::new());
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release_rx = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));

    let handler_entered = entered.clone();
    let router = Router::new().route(
        "/slow",
        get(move || async move {
            handler_entered.notify_one();
            let rx = release_rx.lock().await.take().unwrap();
            rx.await.unwrap();
            "done"
        }),
    );
    let server = spawn_http(router).await;

    let url = format!("{}/slow", server.url);
    let request = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    entered.notified().await;

    server.token.cancel();
    tokio::task::yield_now().await;
    assert!(
        !server.task.is_finished(),
        "server must wait for the in-flight request"
    );

    release_tx.send(()).unwrap();
    assert_eq!(request.await.unwrap().unwrap(), "done");
    server.task.await.unwrap().unwrap();

    let after = reqwest::get(format!("{}/slow", server.url)).await;
    assert!(after.is_err(), "listener is closed after shutdown");
}
