//! `spawn_app`: an auth service on port 0 over fresh backends, plus the
//! helpers a client would need (codes from the bus, TOTP, JWT checks).

use std::sync::Arc;
use std::time::Duration;

use chatflow_auth::{
    ACCOUNT_VERIFIED_TOPIC, Argon2Config, AuthService, Config, Deps, JwksSource, Listeners,
    PasswordCounter, SESSIONS_REVOKED_TOPIC, VERIFICATION_REQUESTED_TOPIC,
};
use chatflow_authn::claims::AccessClaims;
use chatflow_cache::{CacheOptions, CacheRef};
use chatflow_events::Subscription;
use chatflow_proto::auth::v1 as pb;
use chatflow_runtime::Secret;
use chatflow_testkit::{BackendKind, TestBackends};
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub const ADMIN: &str = "test-admin-token-0123456789";
pub const PASSWORD: &str = "correct horse battery";

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    pub http: String,
    pub client: reqwest::Client,
    pub backends: Arc<TestBackends>,
    pub cache: CacheRef,
    pub verifications: PasswordCounter,
    pub jwks: JwksSource,
    codes: Mutex<(Box<dyn Subscription>, Vec<pb::VerificationRequested>)>,
    pub stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The settings tests run with: cheap hashing, keys that sign at once.
pub fn test_config() -> Config {
    Config {
        admin_token: Some(Secret::new(ADMIN.to_owned())),
        argon2: Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        key_publish_ahead_secs: 0,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn(kind: BackendKind) -> Self {
        Self::spawn_with(kind, test_config()).await
    }

    pub async fn spawn_with(kind: BackendKind, config: Config) -> Self {
        Self::spawn_on(Arc::new(TestBackends::new(kind).await), config).await
    }

    /// A service on existing backends (a restart or a replica).
    pub async fn spawn_on(backends: Arc<TestBackends>, config: Config) -> Self {
        let kind = backends.kind;
        let cache_url = match kind {
            BackendKind::Embedded => "memory://".to_owned(),
            BackendKind::Real => std::env::var("CHATFLOW_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
        };
        let options = CacheOptions {
            key_prefix: Some(format!("{}:", backends.unique)),
            ..CacheOptions::default()
        };
        let cache = chatflow_cache::connect(&cache_url, options).await.unwrap();
        for topic in [
            VERIFICATION_REQUESTED_TOPIC,
            SESSIONS_REVOKED_TOPIC,
            ACCOUNT_VERIFIED_TOPIC,
        ] {
            backends.bus.ensure_topic(topic, 4).await.unwrap();
        }
        let sub = backends
            .bus
            .subscribe(
                "auth-test-codes",
                &[VERIFICATION_REQUESTED_TOPIC.to_owned()],
            )
            .await
            .unwrap();
        let deps = Deps {
            sql: backends.sql.clone(),
            bus: backends.bus.clone(),
            cache: cache.clone(),
        };
        let service = AuthService::build(config, deps).await.unwrap();
        let (verifications, jwks) = (service.password_verifications(), service.jwks_source());
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
            cache,
            verifications,
            jwks,
            codes: Mutex::new((sub, Vec::new())),
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

    /// Sends a request; returns status, JSON body (or the text as a string) and headers.
    pub async fn send(
        &self,
        method: reqwest::Method,
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
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body, headers)
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
        let (status, body, _) = self
            .send(reqwest::Method::POST, path, bearer, Some(body))
            .await;
        (status, body)
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let (status, body, _) = self.send(reqwest::Method::GET, path, bearer, None).await;
        (status, body)
    }

    /// The next code sent to `destination` for `purpose`, read from the bus
    /// (envelope decoded, as the email/SMS bridges will).
    pub async fn code_for(&self, destination: &str, purpose: pb::Purpose) -> String {
        let mut guard = self.codes.lock().await;
        let (sub, seen) = &mut *guard;
        let wanted = |e: &pb::VerificationRequested| {
            e.destination == destination && e.purpose == purpose as i32
        };
        if let Some(pos) = seen.iter().position(wanted) {
            return seen.remove(pos).code;
        }
        loop {
            let delivery = tokio::time::timeout(Duration::from_secs(30), sub.next())
                .await
                .expect("no verification event within 30 s")
                .unwrap();
            let envelope =
                chatflow_proto::events::v1::EventEnvelope::decode(delivery.payload.as_ref())
                    .unwrap();
            assert_eq!(
                (envelope.r#type.as_str(), envelope.source.as_str()),
                (VERIFICATION_REQUESTED_TOPIC, "auth")
            );
            let event = pb::VerificationRequested::decode(envelope.data.as_slice()).unwrap();
            assert_eq!(
                delivery.key,
                event.account_id.as_bytes(),
                "keyed by account"
            );
            sub.commit(&delivery).await.unwrap();
            if wanted(&event) {
                return event.code;
            }
            seen.push(event);
        }
    }

    /// Registers and verifies an email account.
    pub async fn verified_account(&self, email: &str) {
        let (status, body) = self
            .post(
                "/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let code = self.code_for(email, pb::Purpose::VerifyAccount).await;
        let (status, body) = self
            .post(
                "/v1/auth/verify",
                None,
                json!({"email": email, "code": code}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }

    /// Logs in with the test password; returns the answer body.
    pub async fn login(&self, email: &str, device: &str) -> (u16, Value) {
        self.post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD, "device_id": device, "device_name": format!("{device} name")}),
        )
        .await
    }

    /// Checks an access token as a verifier would: EdDSA only, key by kid from the JWKS endpoint.
    pub async fn decode_access(&self, token: &str) -> Result<AccessClaims, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let kid = header.kid.ok_or("no kid")?;
        let (_, jwks) = self.get("/.well-known/jwks.json", None).await;
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .ok_or_else(|| format!("kid {kid} not in JWKS"))?;
        let key =
            jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_issuer(&[chatflow_authn::claims::DEFAULT_ISSUER]);
        validation.set_audience(&[chatflow_authn::claims::DEFAULT_AUDIENCE]);
        jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }

    /// Rows in one of the service's tables.
    pub async fn count(&self, table: &str) -> i64 {
        use chatflow_sql::sqlx::{self, Row};
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.backends.sql.pool())
            .await
            .unwrap();
        row.try_get("n").unwrap()
    }
}

/// The kid in a JWT's header.
pub fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// The TOTP code of a base32 secret for the step containing `at_secs`.
pub fn totp_code(secret_b32: &str, at_secs: u64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    )
    .generate(at_secs)
}

/// Now in Unix seconds, first waiting out the last 5 s of a TOTP step so a
/// test's codes do not straddle a step boundary.
pub async fn totp_now() -> u64 {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    let into_step = now().as_secs() % 30;
    if into_step >= 25 {
        tokio::time::sleep(Duration::from_secs(30 - into_step) + Duration::from_millis(200)).await;
    }
    now().as_secs()
}
