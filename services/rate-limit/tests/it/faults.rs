//! The cache becomes unreachable: fail-open policies admit (uncounted),
//! fail-closed ones refuse with 503 / `UNAVAILABLE`.
//!
//! A handle cannot be made for a Redis that is down at start-up (`connect`
//! is eager: the platform refuses to start), so the tests reach the shared
//! Redis through a TCP relay they own and cut it: the handle is then exactly
//! as stuck as one whose server died, and reconnects hit a closed port.

use chatflow_cache::CacheError;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_rate_limit::RateLimitError;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::app::{TestApp, options, per_ten_minutes, redis_url};

/// Relays TCP from a local port to `target` until cut.
struct Relay {
    port: u16,
    cut: CancellationToken,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = CancellationToken::new();
        let stop = cut.clone();
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    accepted = listener.accept() => accepted.unwrap(),
                    () = stop.cancelled() => return, // drops the listener: port closed
                };
                let (target, stop) = (target.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut outbound = TcpStream::connect(target).await.unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = stop.cancelled() => {}
                    }
                });
            }
        });
        Self { port, cut }
    }

    /// The Redis URL with its host and port replaced by the relay's.
    fn url(&self, redis_url: &str) -> String {
        let rest = redis_url.trim_start_matches("redis://");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let userinfo = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        let path = if path.is_empty() {
            String::new()
        } else {
            format!("/{path}")
        };
        format!("redis://{userinfo}127.0.0.1:{}{path}", self.port)
    }
}

/// `host:port` of the Redis URL.
fn redis_target(url: &str) -> String {
    let rest = url.trim_start_matches("redis://");
    let authority = rest.split('/').next().unwrap();
    authority.rsplit('@').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_dead_redis_cannot_even_be_connected() {
    let err = chatflow_cache::connect("redis://127.0.0.1:1", options())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, CacheError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn fail_open_admits_and_fail_closed_refuses_when_the_cache_is_unreachable() {
    let url = redis_url();
    let relay = Relay::start(redis_target(&url)).await;
    let cache = chatflow_cache::connect(&relay.url(&url), options())
        .await
        .unwrap();
    // `test.ip` fails open by default; `auth.test.user` (an auth action) fails closed.
    let policies = [
        ("test.ip", per_ten_minutes(5)),
        ("auth.test.user", per_ten_minutes(5)),
    ];
    let app = TestApp::spawn_on(cache, &policies).await;
    assert!(
        !app.limiter.check("test.ip", "k", 1).await.unwrap().degraded,
        "counted while up"
    );

    relay.cut.cancel();
    let open = app.limiter.check("test.ip", "k", 1).await.unwrap();
    assert!(open.allowed && open.degraded, "{open:?}");
    let closed = app
        .limiter
        .check("auth.test.user", "k", 1)
        .await
        .unwrap_err();
    assert!(
        matches!(closed, RateLimitError::Unavailable { .. }),
        "{closed:?}"
    );
    assert_eq!(closed.kind(), ErrorKind::Unavailable);

    // Through the HTTP layer: admitted without RateLimit headers...
    let admitted = app
        .client
        .get(format!("{}/ip", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(admitted.status(), 200);
    assert!(admitted.headers().get("ratelimit-remaining").is_none());

    // ...and through gRPC Check: allowed, or UNAVAILABLE with a retry hint.
    assert!(app.grpc_check("test.ip", "k").await.unwrap().allowed);
    let status = app.grpc_check("auth.test.user", "k").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(status.metadata().get("retry-after").unwrap(), "1");
}

#[tokio::test]
async fn fail_closed_layer_answers_503_with_retry_after() {
    let url = redis_url();
    let relay = Relay::start(redis_target(&url)).await;
    let cache = chatflow_cache::connect(&relay.url(&url), options())
        .await
        .unwrap();
    // Override the layer's action to fail closed, as an OTP endpoint would.
    let policies = [("test.user", per_ten_minutes(5).with_fail_open(false))];
    let app = TestApp::spawn_on(cache, &policies).await;
    relay.cut.cancel();
    let response = app
        .client
        .get(format!("{}/user", app.http))
        .header("x-user-id", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}
