//! `TestApp`: a profile service on port 0 over fresh backends, with a test
//! token issuer, plus what a client or a neighbouring service would need
//! (requests, discovery hashes, `account_verified` events, event readers).

use std::sync::Arc;
use std::time::Duration;

use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::{OutgoingRecord, Subscription};
use chatflow_profile::{
    ACCOUNT_VERIFIED_TOPIC, Config, Deps, DiscoveryKey, Listeners, PUBLISHED_TOPICS, ProfileService,
};
use chatflow_proto::auth::v1 as auth;
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_runtime::Secret;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use prost::Message;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The discovery key of every test service: 32 bytes, base64.
pub const KEY: &str = "Y2hhdGZsb3ctdGVzdC1kaXNjb3Zlcnkta2V5LTMyYnk=";

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    pub http: String,
    pub client: reqwest::Client,
    pub backends: Arc<TestBackends>,
    pub issuer: TestIssuer,
    pub key: DiscoveryKey,
    pub stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The settings tests run with: the test key, otherwise the defaults.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.discovery.key = Some(Secret::new(KEY.to_owned()));
    config
}

impl TestApp {
    pub async fn spawn(kind: BackendKind) -> Self {
        Self::spawn_with(kind, test_config()).await
    }

    pub async fn spawn_with(kind: BackendKind, config: Config) -> Self {
        let backends = Arc::new(TestBackends::new(kind).await);
        for topic in PUBLISHED_TOPICS.into_iter().chain([ACCOUNT_VERIFIED_TOPIC]) {
            backends.bus.ensure_topic(topic, 4).await.unwrap();
        }
        let cache = cache_for(&backends).await;
        let issuer = TestIssuer::new();
        let deps = Deps {
            sql: backends.sql.clone(),
            bus: backends.bus.clone(),
            cache: cache.clone(),
            verifier: issuer.verifier(cache),
            flags: None,
        };
        let service = ProfileService::build(config, deps).await.unwrap();
        let key = DiscoveryKey::from_base64(KEY).unwrap();
        assert_eq!(service.discovery_key_id(), key.id());
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", http.local_addr().unwrap());
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move { service.run(Listeners { http }, stop).await.unwrap() }
        });
        Self {
            http: url,
            client: reqwest::Client::new(),
            backends,
            issuer,
            key,
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

    /// A new user id and an access token for it.
    pub fn user(&self) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        let token = self.issuer.token(&id, &[]);
        (id, token)
    }

    /// A new user with a profile named `name`.
    pub async fn user_named(&self, name: &str) -> (String, String) {
        let (id, token) = self.user();
        let (status, body) = self
            .send(
                Method::PATCH,
                "/v1/profile/me",
                Some(&token),
                Some(json!({"display_name": name})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (id, token)
    }

    /// Sends a JSON request; returns status, JSON body (or the text as a string) and headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self.client.request(method, format!("{}{path}", self.http));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// Sends raw bytes with a content type (malformed or oversized bodies).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(bearer)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, body, _) = read(response).await;
        (status, body)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, body, _) = self.request(method, path, bearer, body).await;
        (status, body)
    }

    pub async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        self.send(Method::GET, path, Some(bearer), None).await
    }

    pub async fn patch_me(&self, bearer: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, "/v1/profile/me", Some(bearer), Some(body))
            .await
    }

    pub async fn set_privacy(&self, bearer: &str, body: Value) -> (u16, Value) {
        self.send(
            Method::PUT,
            "/v1/profile/me/privacy",
            Some(bearer),
            Some(body),
        )
        .await
    }

    /// `PUT` or `DELETE` without a body (contacts and blocks).
    pub async fn put(&self, path: &str, bearer: &str) -> u16 {
        self.send(Method::PUT, path, Some(bearer), None).await.0
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> u16 {
        self.send(Method::DELETE, path, Some(bearer), None).await.0
    }

    /// `POST /v1/contacts/discover` with the current key id.
    pub async fn discover(
        &self,
        bearer: &str,
        hashes: &[String],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let body = json!({"key_id": self.key.id(), "hashes": hashes});
        self.request(
            Method::POST,
            "/v1/contacts/discover",
            Some(bearer),
            Some(body),
        )
        .await
    }

    /// The user ids a discovery answer matched.
    pub async fn discovered(&self, bearer: &str, hashes: &[String]) -> Vec<String> {
        let (status, body, _) = self.discover(bearer, hashes).await;
        assert_eq!(status, 200, "{body}");
        body["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// What a client uploads for a normalised identifier.
    pub fn hash(&self, identifier: &str) -> String {
        self.key.hash(identifier)
    }

    /// Publishes `AccountVerified` as the auth service's outbox would.
    pub async fn publish_verified(
        &self,
        account_id: &str,
        channel: auth::Channel,
        identifier: &str,
    ) {
        let event = auth::AccountVerified {
            account_id: account_id.to_owned(),
            channel: channel as i32,
            identifier: identifier.to_owned(),
            verified_at: Some(chatflow_proto::prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
        };
        let envelope =
            chatflow_outbox::envelope_for(ACCOUNT_VERIFIED_TOPIC, "auth", account_id, &event);
        self.publish_raw(account_id, envelope.encode_to_vec()).await;
    }

    pub async fn publish_raw(&self, key: &str, payload: Vec<u8>) {
        let record = OutgoingRecord::new(ACCOUNT_VERIFIED_TOPIC, key.as_bytes().to_vec(), payload);
        self.backends.bus.publish(record).await.unwrap();
    }

    /// Waits until the consumer has stored `user_id` (its profile appears).
    pub async fn wait_for_profile(&self, user_id: &str) {
        let (_, viewer) = self.user();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if self
                .get(&format!("/v1/profiles/{user_id}"), &viewer)
                .await
                .0
                == 200
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{user_id} never stored by the consumer"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A fresh consumer group on `topic`, reading from the beginning.
    pub async fn subscribe(&self, topic: &str) -> Box<dyn Subscription> {
        let group = format!("profile-test-{}", uuid::Uuid::new_v4().simple());
        self.backends
            .bus
            .subscribe(&group, &[topic.to_owned()])
            .await
            .unwrap()
    }

    /// Rows of one of the service's tables.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        use chatflow_sql::sqlx::{self, Row};
        let rows = sqlx::query(sql)
            .fetch_all(self.backends.sql.pool())
            .await
            .unwrap();
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<String, _>(i).unwrap_or_default())
                    .collect()
            })
            .collect()
    }
}

/// The next event on `sub` (decoded from its envelope), with its record key.
pub async fn next_event<T: Message + Default>(
    sub: &mut Box<dyn Subscription>,
    topic: &str,
) -> (String, T) {
    let delivery = tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .unwrap_or_else(|_| panic!("no {topic} event within 30 s"))
        .unwrap();
    let envelope = EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
    assert_eq!(
        (envelope.r#type.as_str(), envelope.source.as_str()),
        (topic, "profile")
    );
    sub.commit(&delivery).await.unwrap();
    let key = String::from_utf8(delivery.key.clone()).unwrap();
    (key, T::decode(envelope.data.as_slice()).unwrap())
}

async fn read(response: reqwest::Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, headers)
}

/// The in-process cache (embedded) or Redis under a unique prefix (real).
async fn cache_for(backends: &TestBackends) -> CacheRef {
    let url = match backends.kind {
        BackendKind::Embedded => "memory://".to_owned(),
        BackendKind::Real => std::env::var("CHATFLOW_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
    };
    let options = CacheOptions {
        key_prefix: Some(format!("{}:", backends.unique)),
        ..CacheOptions::default()
    };
    chatflow_cache::connect(&url, options).await.unwrap()
}
