//! Running HTTP and gRPC servers on listeners the caller bound.
//!
//! The caller binds (tests bind port 0 and read the address back, nobody
//! sleeps waiting for a port) and owns shutdown: each server stops accepting
//! when its token is cancelled and returns once in-flight requests finish.

use std::net::SocketAddr;

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

/// Binds a TCP listener; the error names the address, which the OS error alone does not.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then finishes
/// in-flight requests and returns.
///
/// Handlers can extract the peer address with
/// `axum::extract::ConnectInfo<SocketAddr>` (rate limits by IP need it).
/// Upgraded connections (WebSockets) are not waited for: their handlers
/// should watch the same token.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // Small frames (acks, typing) should not wait for Nagle.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    // One span per request, continuing the caller's trace (see `propagation`).
    let router = router.layer(
        tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(|request: &http::Request<_>| crate::propagation::request_span(request)),
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}

/// Serves tonic `routes` on `listener` until `shutdown` is cancelled, then
/// finishes in-flight calls and returns.
pub async fn serve_grpc(
    listener: TcpListener,
    routes: tonic::service::Routes,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    // tonic applies TCP_NODELAY only to sockets it binds itself.
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        })
    });
    tonic::transport::Server::builder()
        .trace_fn(crate::propagation::request_span)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bind_errors_name_the_address() {
        let err = bind("256.0.0.1:0").await.unwrap_err();
        assert!(err.to_string().contains("256.0.0.1:0"), "{err}");
    }

    #[tokio::test]
    async fn grpc_server_stops_when_cancelled() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let token = CancellationToken::new();
        let server = tokio::spawn(serve_grpc(
            listener,
            tonic::service::Routes::default(),
            token.clone(),
        ));
        token.cancel();
        server.await.unwrap().unwrap();
    }
}
