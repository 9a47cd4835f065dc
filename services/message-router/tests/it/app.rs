//! `spawn_app`: routers on port 0 over fresh backends — SQLite kv, in-process
//! bus and cache when embedded; DynamoDB Local, Kafka and Redis when real —
//! and the helpers tests talk to them with.

use std::sync::Arc;
use std::time::Duration;

use chatflow_authn::ServiceIdentity;
use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::Subscription;
use chatflow_kv::{KvOptions, KvStoreRef};
use chatflow_message_router::events::TOPICS;
use chatflow_message_router::store::keys;
use chatflow_message_router::{
    BreakerState, Caller, Config, Deps, GrpcRouterClient, HistoryPage, HistoryRequest, Listeners,
    MembershipRef, RouterClientRef, RouterService, SendAck, SendRequest, StaticMembership,
};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::messages::v1 as pb;
use chatflow_runtime::Secret;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use prost::Message as _;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The internal secret services sign gRPC calls with in these tests.
pub const SECRET: &str = "test-internal-secret-0123456789abcdef";
/// Two members of the direct conversation [`DIRECT`], and an outsider.
pub const ANN: &str = "ann";
pub const BOB: &str = "bob";
pub const EVE: &str = "eve";
/// The direct conversation of ann and bob.
pub const DIRECT: &str = "d_ann_bob";

/// Backends several router instances share (one "deployment").
pub struct TestEnv {
    pub kind: BackendKind,
    pub backends: TestBackends,
    pub kv: KvStoreRef,
    pub cache: CacheRef,
    pub membership: Arc<StaticMembership>,
    pub issuer: TestIssuer,
    kv_options: KvOptions,
}

impl TestEnv {
    pub async fn new(kind: BackendKind) -> Arc<Self> {
        let backends = TestBackends::new(kind).await;
        for topic in TOPICS {
            backends.bus.ensure_topic(topic, 4).await.unwrap();
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let kv_options = KvOptions {
            table_prefix: format!("t{}_", &id[..12]),
            op_timeout: Duration::from_secs(15),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
            ..KvOptions::default()
        };
        let (kv_url, cache_url) = match kind {
            BackendKind::Embedded => (
                format!("sqlite://{}", backends.dir.path().join("kv.db").display()),
                "memory://".to_owned(),
            ),
            BackendKind::Real => (dynamodb_url(), redis_url()),
        };
        let kv = chatflow_kv::connect(&kv_url, kv_options.clone())
            .await
            .unwrap();
        let cache_options = CacheOptions {
            key_prefix: Some(format!("{}:", backends.unique)),
            ..CacheOptions::default()
        };
        let cache = chatflow_cache::connect(&cache_url, cache_options)
            .await
            .unwrap();
        Arc::new(Self {
            kind,
            backends,
            kv,
            cache,
            membership: Arc::new(StaticMembership::new()),
            issuer: TestIssuer::new(),
            kv_options,
        })
    }

    /// A store handle for one more instance: the shared one when embedded
    /// (one SQLite file belongs to one process), a new connection when real.
    pub async fn kv_for_instance(&self) -> KvStoreRef {
        match self.kind {
            BackendKind::Embedded => self.kv.clone(),
            BackendKind::Real => chatflow_kv::connect(&dynamodb_url(), self.kv_options.clone())
                .await
                .unwrap(),
        }
    }

    /// Drops the router's tables, so DynamoDB Local does not accumulate them.
    pub async fn cleanup(&self) {
        if self.kind == BackendKind::Real {
            let tables = [keys::MESSAGES, keys::HEADS, keys::IDEMPOTENCY, keys::OUTBOX];
            self.kv.drop_tables(&tables).await.unwrap();
        }
    }

    /// A consumer group (new, so it reads from the start) on every router topic.
    pub async fn subscribe(&self) -> Box<dyn Subscription> {
        let group = format!("test-{}", uuid::Uuid::new_v4().simple());
        let topics: Vec<String> = TOPICS.iter().map(|t| (*t).to_owned()).collect();
        self.backends.bus.subscribe(&group, &topics).await.unwrap()
    }
}

pub fn dynamodb_url() -> String {
    std::env::var("CHATFLOW_TEST_DYNAMODB_URL")
        .unwrap_or_else(|_| "dynamodb://127.0.0.1:8000".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("CHATFLOW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Settings for tests: a quick relay, small lanes.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.relay.idle_poll_ms = 50;
    config.lanes.workers = 4;
    config
}

pub fn identity(name: &str) -> ServiceIdentity {
    ServiceIdentity::new(name, &Secret::new(SECRET.to_owned())).unwrap()
}

/// A running router and what a test needs to talk to it.
pub struct TestApp {
    pub http: String,
    pub grpc: String,
    pub local: RouterClientRef,
    pub rest: reqwest::Client,
    pub env: Arc<TestEnv>,
    pub breaker: Box<dyn Fn() -> BreakerState + Send + Sync>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// A router on fresh backends with the env's static membership.
    pub async fn spawn(kind: BackendKind) -> Self {
        let env = TestEnv::new(kind).await;
        let membership = env.membership.clone();
        Self::spawn_on(env, test_config(), membership).await
    }

    /// One more instance on `env`'s backends.
    pub async fn spawn_on(env: Arc<TestEnv>, config: Config, membership: MembershipRef) -> Self {
        let deps = Deps {
            kv: env.kv_for_instance().await,
            bus: env.backends.bus.clone(),
            cache: env.cache.clone(),
            membership,
            verifier: env.issuer.verifier(env.cache.clone()),
            identity: identity("message-router"),
        };
        let service = RouterService::build(config, deps).await.unwrap();
        let local = service.client();
        let breaker = Box::new(service.breaker_probe());
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
            local,
            rest: reqwest::Client::new(),
            env,
            breaker,
            stop,
            task,
        }
    }

    /// Stops the router and waits until it has.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("router did not stop")
            .unwrap();
    }

    /// Stops the router and drops its tables.
    pub async fn shutdown(self) {
        let env = self.env.clone();
        self.stop().await;
        env.cleanup().await;
    }

    /// A client for this router's gRPC API, calling as the gateway.
    pub fn grpc_client(&self) -> GrpcRouterClient {
        GrpcRouterClient::connect_lazy(&self.grpc, identity("gateway")).unwrap()
    }

    /// A REST call as `user`; returns status and JSON body.
    pub async fn call(
        &self,
        user: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .rest
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(self.env.issuer.token(user, &[]));
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

    /// Sends `text` in process.
    pub async fn send(&self, user: &str, conversation: &str, id: &str, text: &str) -> SendAck {
        self.local
            .send(send_request(user, conversation, id, text))
            .await
            .unwrap()
    }

    /// Every message of a conversation, as `user` reads it.
    pub async fn all(&self, user: &str, conversation: &str) -> HistoryPage {
        self.local
            .history(HistoryRequest {
                caller: Caller::new(user, "d1"),
                conversation_id: conversation.into(),
                after_seq: Some(0),
                before_seq: None,
                limit: Some(200),
            })
            .await
            .unwrap()
    }
}

/// A plain text send.
pub fn send_request(user: &str, conversation: &str, id: &str, text: &str) -> SendRequest {
    SendRequest {
        caller: Caller::new(user, "d1"),
        conversation_id: conversation.into(),
        client_msg_id: id.into(),
        text: text.into(),
        reply_to_seq: None,
        mentions: vec![],
        attachments: vec![],
    }
}

/// One event read from the bus.
#[derive(Debug, Clone)]
pub struct Event {
    pub topic: String,
    pub envelope_id: String,
    pub message: pb::Message,
}

/// Reads distinct events (by envelope id) until `want` arrived; fails after 30 s.
pub async fn collect(sub: &mut Box<dyn Subscription>, want: usize) -> Vec<Event> {
    let mut seen = std::collections::HashSet::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while events.len() < want {
        let delivery = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} events arrived", events.len()))
            .unwrap();
        let envelope = EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
        assert_eq!(envelope.r#type, delivery.topic);
        assert_eq!(envelope.subject.as_bytes(), delivery.key.as_slice());
        if seen.insert(envelope.id.clone()) {
            events.push(Event {
                topic: delivery.topic.clone(),
                envelope_id: envelope.id,
                message: pb::Message::decode(envelope.data.as_slice()).unwrap(),
            });
        }
    }
    events
}
