//! `TestApp`: the rate-limit service and an axum app behind its layer, on
//! port 0 over a fresh cache (its own key prefix).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_flags::{FlagCache, StoredFlag};
use chatflow_proto::ratelimit::v1 as pb;
use chatflow_proto::ratelimit::v1::rate_limit_service_client::RateLimitServiceClient;
use chatflow_rate_limit::{
    Config, Deps, Listeners, POLICY_FLAG, PolicySpec, RateLimitLayer, RateLimitService,
    RateLimiter, key,
};
use chatflow_testkit::BackendKind;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Ten minutes: long enough that no test sees a request's slot come back.
pub const TEN_MINUTES_MS: u64 = 600_000;

pub fn redis_url() -> String {
    std::env::var("CHATFLOW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Options with a key prefix no other test uses.
pub fn options() -> CacheOptions {
    CacheOptions {
        key_prefix: Some(format!("test:{}:", uuid::Uuid::new_v4().simple())),
        op_timeout: Duration::from_millis(500),
    }
}

/// A fresh cache: in-process, or the shared Redis under a unique prefix.
pub async fn fresh_cache(kind: BackendKind) -> CacheRef {
    match kind {
        BackendKind::Embedded => chatflow_cache::connect("memory://", options())
            .await
            .unwrap(),
        BackendKind::Real => chatflow_cache::connect(&redis_url(), options())
            .await
            .expect("Redis must be running (scripts/test.sh starts it)"),
    }
}

/// Two handles on one limiter state, as two nodes have: two Redis
/// connections under one prefix, or the one in-process store shared.
pub async fn shared_caches(kind: BackendKind) -> (CacheRef, CacheRef) {
    match kind {
        BackendKind::Embedded => {
            let cache = fresh_cache(kind).await;
            (cache.clone(), cache)
        }
        BackendKind::Real => {
            let options = options();
            let first = chatflow_cache::connect(&redis_url(), options.clone())
                .await
                .unwrap();
            let second = chatflow_cache::connect(&redis_url(), options)
                .await
                .unwrap();
            (first, second)
        }
    }
}

/// Service config with `policies` laid over the defaults.
pub fn config(policies: &[(&str, PolicySpec)]) -> Config {
    Config {
        policies: policies
            .iter()
            .map(|(action, spec)| ((*action).to_owned(), spec.clone()))
            .collect(),
        ..Config::default()
    }
}

/// A running service plus an HTTP app limited by its layer.
pub struct TestApp {
    pub limiter: RateLimiter,
    pub flags: FlagCache,
    /// gRPC `Check`.
    pub grpc: String,
    /// `GET /ip` limited by `test.ip` per peer IP, `GET /user` by `test.user` per `x-user-id`.
    pub http: String,
    pub client: reqwest::Client,
    stop: CancellationToken,
}

impl TestApp {
    pub async fn spawn(kind: BackendKind, policies: &[(&str, PolicySpec)]) -> Self {
        Self::spawn_on(fresh_cache(kind).await, policies).await
    }

    pub async fn spawn_on(cache: CacheRef, policies: &[(&str, PolicySpec)]) -> Self {
        let flags = FlagCache::new();
        let deps = Deps {
            cache,
            flags: Some(flags.clone()),
        };
        let service = RateLimitService::build(config(policies), deps).unwrap();
        let limiter = service.limiter();
        let stop = CancellationToken::new();
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_url = format!("http://{}", grpc.local_addr().unwrap());
        tokio::spawn(service.run(Listeners { grpc }, stop.clone()));

        let router = Router::new()
            .route("/ip", get(|| async { "ok" }))
            .layer(RateLimitLayer::new(
                limiter.clone(),
                "test.ip",
                key::by_ip(),
            ))
            .merge(Router::new().route("/user", get(|| async { "ok" })).layer(
                RateLimitLayer::new(limiter.clone(), "test.user", key::by_header("x-user-id")),
            ));
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_url = format!("http://{}", http.local_addr().unwrap());
        tokio::spawn(chatflow_runtime::serve::serve_http(
            http,
            router,
            stop.clone(),
        ));
        Self {
            limiter,
            flags,
            grpc: grpc_url,
            http: http_url,
            client: reqwest::Client::new(),
            stop,
        }
    }

    pub async fn check_client(&self) -> RateLimitServiceClient<tonic::transport::Channel> {
        RateLimitServiceClient::connect(self.grpc.clone())
            .await
            .unwrap()
    }

    /// One gRPC `Check` of cost 1.
    pub async fn grpc_check(
        &self,
        action: &str,
        key: &str,
    ) -> Result<pb::CheckResponse, tonic::Status> {
        let mut client = self.check_client().await;
        let request = pb::CheckRequest {
            action: action.to_owned(),
            key: key.to_owned(),
            cost: 1,
        };
        client.check(request).await.map(tonic::Response::into_inner)
    }

    /// Publishes `ratelimit.policies` at `version` into the flag cache.
    pub fn set_flag(&self, version: u64, value: serde_json::Value) {
        assert!(self.flags.apply(policy_flag(version, value)));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A stored JSON flag serving `value` to everyone.
pub fn policy_flag(version: u64, value: serde_json::Value) -> StoredFlag {
    let spec = serde_json::json!({
        "kind": "json", "variants": {"on": value}, "default_variant": "on", "enabled": true
    });
    StoredFlag {
        key: POLICY_FLAG.parse().unwrap(),
        spec: serde_json::from_value(spec).unwrap(),
        version,
        updated_at_ms: 0,
        updated_by: "test".into(),
        deleted: false,
    }
}

/// `limit` per ten minutes, burst `limit`.
pub fn per_ten_minutes(limit: u32) -> PolicySpec {
    PolicySpec::new(limit, TEN_MINUTES_MS)
}
