//! `spawn_app`: a groups service on port 0 over fresh backends, plus the
//! helpers a client would need (tokens, JSON calls, gRPC with an identity).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_authn::ServiceIdentity;
use chatflow_events::Subscription;
use chatflow_groups::{
    Config, Deps, GroupsService, InviteKey, Listeners, MEMBERSHIP_CHANGED_TOPIC,
};
use chatflow_groups_client::{GroupsClientRef, GrpcGroupsClient};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::groups::v1 as pb;
use chatflow_runtime::Secret;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use prost::Message;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The internal secret the test fleet shares.
pub const SECRET: &str = "test-internal-secret-0123456789abcdef";

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    pub http: String,
    pub grpc: String,
    pub client: reqwest::Client,
    /// The in-process handle.
    pub local: GroupsClientRef,
    pub backends: Arc<TestBackends>,
    pub issuer: TestIssuer,
    /// The key that signs invite links (tests forge expired ones with it).
    pub invite_key: InviteKey,
    pub stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(kind: BackendKind) -> Self {
        Self::spawn_with(kind, Config::default()).await
    }

    pub async fn spawn_with(kind: BackendKind, mut config: Config) -> Self {
        let backends = Arc::new(TestBackends::new(kind).await);
        let key = InviteKey::generate_base64();
        config.invite_key = Some(Secret::new(key.clone()));
        let issuer = TestIssuer::new();
        let cache = chatflow_cache::connect("memory://", Default::default())
            .await
            .unwrap();
        let deps = Deps {
            sql: backends.sql.clone(),
            bus: backends.bus.clone(),
            verifier: issuer.verifier(cache),
            identity: identity("groups"),
        };
        let service = GroupsService::build(config, deps).await.unwrap();
        let local = service.client();
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
            invite_key: InviteKey::from_base64(&key).unwrap(),
            stop,
            task,
        }
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("service did not stop")
            .unwrap();
    }

    /// A gRPC client signed as `caller` with the fleet's secret.
    pub fn grpc_client(&self, caller: &str) -> GrpcGroupsClient {
        GrpcGroupsClient::connect_lazy(&self.grpc, &identity(caller)).unwrap()
    }

    /// Sends a request as `user` (none: no token); returns status and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.http));
        if let Some(user) = user {
            request = request.bearer_auth(self.issuer.token(user, &[]));
        }
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

    /// Creates a group owned by `owner` with `members`; returns its id.
    pub async fn group(&self, owner: &str, members: &[&str]) -> String {
        let body = json!({"name": "Test group", "member_ids": members});
        let (status, group) = self
            .call(Method::POST, "/v1/groups", Some(owner), Some(body))
            .await;
        assert_eq!(status, 201, "{group}");
        group["id"].as_str().unwrap().to_owned()
    }

    /// The group as `user` sees it.
    pub async fn get(&self, user: &str, id: &str) -> (u16, Value) {
        self.call(Method::GET, &format!("/v1/groups/{id}"), Some(user), None)
            .await
    }
}

/// A service identity with the shared secret.
pub fn identity(name: &str) -> ServiceIdentity {
    ServiceIdentity::new(name, &Secret::new(SECRET.to_owned())).unwrap()
}

/// Reads `MembershipChanged` events of `conversation` until `count` arrived
/// (a 30 s deadline: a real broker's group join can take seconds).
pub async fn changes(
    sub: &mut Box<dyn Subscription>,
    conversation: &str,
    count: usize,
) -> Vec<pb::MembershipChanged> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let delivery = tokio::time::timeout(left, sub.next())
            .await
            .expect("events did not arrive")
            .unwrap();
        let envelope = EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
        assert_eq!(
            (envelope.r#type.as_str(), envelope.source.as_str()),
            (MEMBERSHIP_CHANGED_TOPIC, "groups")
        );
        let change = pb::MembershipChanged::decode(envelope.data.as_slice()).unwrap();
        if change.conversation_id == conversation {
            assert_eq!(delivery.key, conversation.as_bytes());
            seen.push(change);
        }
        sub.commit(&delivery).await.unwrap();
    }
    seen
}

/// Polls `check` every 10 ms until it holds or `within` passes; returns the
/// time it took.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
