//! `spawn_app`: a config service on port 0 over fresh backends.

use std::sync::Arc;

use chatflow_cache::CacheRef;
use chatflow_config::{Config, ConfigService, Deps, FLAG_CHANGED_TOPIC, Listeners};
use chatflow_config_client::FlagSourceRef;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "test-operator-token-0123456789";

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    pub http: String,
    pub grpc: String,
    pub client: reqwest::Client,
    pub local: FlagSourceRef,
    pub backends: Arc<TestBackends>,
    /// Signs access tokens the service's verifier trusts.
    pub issuer: TestIssuer,
    /// Where the verifier looks up revocations.
    pub cache: CacheRef,
    pub stop: CancellationToken,
    pub task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(kind: BackendKind) -> Self {
        Self::spawn_on(Arc::new(TestBackends::new(kind).await)).await
    }

    /// A second instance on the same backends (a replica).
    pub async fn spawn_on(backends: Arc<TestBackends>) -> Self {
        backends
            .bus
            .ensure_topic(FLAG_CHANGED_TOPIC, 4)
            .await
            .unwrap();
        let config = Config {
            max_body_bytes: 64 * 1024,
            ..Config::default()
        };
        let issuer = TestIssuer::new();
        let cache = chatflow_cache::connect("memory://", Default::default())
            .await
            .unwrap();
        let deps = Deps {
            sql: backends.sql.clone(),
            bus: backends.bus.clone(),
            verifier: Some(issuer.verifier(cache.clone())),
        };
        let service = ConfigService::build(config, deps, TOKEN).await.unwrap();
        let local = service.source();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (http_url, grpc_url) = (
            format!("http://{}", http.local_addr().unwrap()),
            format!("http://{}", grpc.local_addr().unwrap()),
        );
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move { service.run(Listeners { http, grpc }, stop).await.unwrap() }
        });
        Self {
            http: http_url,
            grpc: grpc_url,
            client: reqwest::Client::new(),
            local,
            backends,
            issuer,
            cache,
            stop,
            task,
        }
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("service did not stop")
            .unwrap();
    }

    /// Sends an authenticated admin request; returns status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn create(&self, key: &str, spec: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            "/v1/flags",
            Some(json!({"key": key, "spec": spec})),
        )
        .await
    }
}

/// A boolean flag served to everyone as `off`.
pub fn bool_spec() -> Value {
    json!({"kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off", "enabled": true})
}

/// A 50/50 rollout between `on` and `off`.
pub fn rollout_spec() -> Value {
    json!({
        "kind": "boolean",
        "variants": {"on": true, "off": false},
        "default_variant": "off",
        "enabled": true,
        "rules": [{"conditions": [], "serve": {"type": "rollout", "buckets": [
            {"variant": "on", "weight": 5000}, {"variant": "off", "weight": 5000}]}}]
    })
}
