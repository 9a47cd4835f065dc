//! `TestApp`: a receipts service on port 0 over fresh backends — SQLite kv,
//! in-process bus and cache when embedded; DynamoDB Local, Kafka and Redis
//! when real — with static membership, and the helpers tests use to feed it
//! message and membership events (as the router and groups publish them)
//! and to call and wait on it (see `wire` for messages and events).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chatflow_authn::ServiceIdentity;
use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::Subscription;
use chatflow_groups_client::{GroupsClientRef, MEMBERSHIP_CHANGED_TOPIC};
use chatflow_kv::{KvOptions, KvStoreRef};
use chatflow_message_router::{Message, MessageKind};
use chatflow_platform::Reach;
use chatflow_proto::groups::v1::MembershipChanged;
use chatflow_proto::groups::v1::membership_changed::Kind;
use chatflow_receipts::consumer::MESSAGE_TOPICS;
use chatflow_receipts::store::{ReceiptsStore, keys};
use chatflow_receipts::{
    Config, Deps, GrpcReceiptsClient, Listeners, ReceiptsApiRef, ReceiptsService,
    SETTINGS_CHANGED_TOPIC, StaticGroups, UPDATED_TOPIC,
};
use chatflow_runtime::Secret;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use prost::Message as _;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The internal secret services sign gRPC calls with in these tests.
pub const SECRET: &str = "test-internal-secret-0123456789abcdef";
pub const ANN: &str = "ann";
pub const BOB: &str = "bob";
pub const CY: &str = "cy";
pub const DAN: &str = "dan";
pub const FAY: &str = "fay";
/// Not a member of anything.
pub const EVE: &str = "eve";
/// The direct conversation of ann and bob.
pub const DIRECT: &str = "d_ann_bob";
/// A group of ann, bob and cy (see [`TestEnv::new`]).
pub const GROUP: &str = "g_team";

/// How long a test waits for the service to catch up before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// Backends and fakes one test's service runs on.
pub struct TestEnv {
    pub kind: BackendKind,
    pub backends: TestBackends,
    pub kv: KvStoreRef,
    pub cache: CacheRef,
    pub groups: Arc<StaticGroups>,
    pub issuer: TestIssuer,
}

impl TestEnv {
    pub async fn new(kind: BackendKind) -> Arc<Self> {
        let backends = TestBackends::new(kind).await;
        let topics = MESSAGE_TOPICS.iter().chain([
            &MEMBERSHIP_CHANGED_TOPIC,
            &UPDATED_TOPIC,
            &SETTINGS_CHANGED_TOPIC,
        ]);
        for topic in topics {
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
            BackendKind::Real => (dynamodb_url(), chatflow_testkit::redis_url()),
        };
        let kv = chatflow_kv::connect(&kv_url, kv_options).await.unwrap();
        let cache_options = CacheOptions {
            key_prefix: Some(format!("{}:", backends.unique)),
            ..CacheOptions::default()
        };
        let cache = chatflow_cache::connect(&cache_url, cache_options)
            .await
            .unwrap();
        let groups = Arc::new(StaticGroups::new());
        groups.set_members(GROUP, [ANN, BOB, CY]);
        Arc::new(Self {
            kind,
            backends,
            kv,
            cache,
            groups,
            issuer: TestIssuer::new(),
        })
    }

    /// Drops the tables, so DynamoDB Local does not accumulate them.
    pub async fn cleanup(&self) {
        if self.kind == BackendKind::Real {
            self.kv
                .drop_tables(&[keys::RECEIPTS, keys::OUTBOX])
                .await
                .unwrap();
        }
    }
}

pub fn dynamodb_url() -> String {
    std::env::var("CHATFLOW_TEST_DYNAMODB_URL")
        .unwrap_or_else(|_| "dynamodb://127.0.0.1:8000".to_owned())
}

pub fn identity(name: &str) -> ServiceIdentity {
    ServiceIdentity::new(name, &Secret::new(SECRET.to_owned())).unwrap()
}

/// Settings for tests: a quick relay and small bodies.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.relay.idle_poll_ms = 50;
    config.max_body_bytes = 1024;
    config
}

/// A running receipts service and what a test needs to talk to it.
pub struct TestApp {
    pub http: String,
    pub grpc: String,
    pub local: ReceiptsApiRef,
    pub store: ReceiptsStore,
    pub rest: reqwest::Client,
    pub env: Arc<TestEnv>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(kind: BackendKind) -> Self {
        let env = TestEnv::new(kind).await;
        let groups: GroupsClientRef = env.groups.clone();
        let deps = Deps {
            kv: env.kv.clone(),
            bus: env.backends.bus.clone(),
            cache: env.cache.clone(),
            groups: Reach::Remote(groups),
            verifier: env.issuer.verifier(env.cache.clone()),
            identity: identity("receipts"),
        };
        let service = ReceiptsService::build(test_config(), deps).await.unwrap();
        let (local, store) = (service.client(), service.store().clone());
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
            store,
            rest: reqwest::Client::new(),
            env,
            stop,
            task,
        }
    }

    /// Stops the service, waits until it has, and drops its tables.
    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("receipts did not stop")
            .unwrap();
        self.env.cleanup().await;
    }

    /// A client for the gRPC API, calling as the gateway.
    pub fn grpc_client(&self) -> GrpcReceiptsClient {
        GrpcReceiptsClient::connect_lazy(&self.grpc, &identity("gateway")).unwrap()
    }

    /// Publishes `message` as the router does (same envelope and headers).
    pub async fn publish(&self, message: &Message) {
        let record = chatflow_message_router::events::outbox_record(message)
            .to_record()
            .unwrap();
        self.env.backends.bus.publish(record).await.unwrap();
    }

    /// Publishes messages and waits until the service has applied them all.
    pub async fn feed(&self, messages: &[Message]) {
        for message in messages {
            self.publish(message).await;
        }
        for message in messages {
            self.wait_applied(message).await;
        }
    }

    /// Waits until `message` moved its conversation's head and, for text,
    /// its sender's read mark.
    pub async fn wait_applied(&self, message: &Message) {
        let (conversation, seq) = (message.conversation_id.clone(), message.seq);
        let sender = message.sender_id.clone();
        let text = message.kind == MessageKind::Text;
        let store = self.store.clone();
        wait_for(&format!("message {conversation}/{seq}"), || {
            let (store, conversation, sender) =
                (store.clone(), conversation.clone(), sender.clone());
            async move {
                let head = store.head(&conversation).await.unwrap().value;
                let read = store.mark(&conversation, &sender).await.unwrap().value.read;
                head.last_seq >= seq && (!text || read >= seq)
            }
        })
        .await;
    }

    /// Publishes a membership change as the groups service does.
    pub async fn membership(&self, conversation: &str, kind: Kind, subjects: &[&str]) {
        let event = MembershipChanged {
            conversation_id: conversation.into(),
            kind: kind as i32,
            subject_ids: subjects.iter().map(|s| (*s).to_owned()).collect(),
            membership_version: 2,
            ..Default::default()
        };
        let envelope =
            chatflow_outbox::envelope_for(MEMBERSHIP_CHANGED_TOPIC, "groups", conversation, &event);
        let record = chatflow_events::OutgoingRecord::new(
            MEMBERSHIP_CHANGED_TOPIC,
            conversation.as_bytes().to_vec(),
            envelope.encode_to_vec(),
        );
        self.env.backends.bus.publish(record).await.unwrap();
    }

    /// A REST call as `user` with a JSON body; returns status and JSON body.
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
        read(request.send().await.unwrap()).await
    }

    /// A REST call as `user` with a raw body and content type.
    pub async fn call_raw(
        &self,
        user: &str,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> (u16, Value) {
        let request = self
            .rest
            .post(format!("{}{path}", self.http))
            .bearer_auth(self.env.issuer.token(user, &[]))
            .header("content-type", content_type)
            .body(body);
        read(request.send().await.unwrap()).await
    }

    /// A new consumer group (reading from the start) on the service's topics.
    pub async fn subscribe(&self) -> Box<dyn Subscription> {
        let group = format!("test-{}", uuid::Uuid::new_v4().simple());
        let topics = [UPDATED_TOPIC.to_owned(), SETTINGS_CHANGED_TOPIC.to_owned()];
        self.env
            .backends
            .bus
            .subscribe(&group, &topics)
            .await
            .unwrap()
    }

    /// Waits until every published event left the outbox.
    pub async fn outbox_drained(&self) {
        let store = self.store.clone();
        wait_for("outbox drained", || {
            let store = store.clone();
            async move { store.outbox_len().await.unwrap() == 0 }
        })
        .await;
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Polls `check` until it holds; fails the test after [`PATIENCE`].
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
