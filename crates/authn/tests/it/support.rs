//! Test keys, token minting, a counting key source and a cache that is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chatflow_authn::claims::AccessClaims;
use chatflow_authn::{AuthnError, JwkSet, KeySource, TokenVerifier, VerifierConfig};
use chatflow_cache::{AtomicScript, Cache, CacheError, CacheRef, KeyTtl, MessageStream};
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::Mutex;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An Ed25519 signing key as the auth service would hold it.
pub struct TestKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub public: [u8; 32],
}

impl TestKey {
    pub fn new(kid: &str) -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let der = signing.to_pkcs8_der().unwrap();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public: signing.verifying_key().to_bytes(),
        }
    }

    /// The public half as published in the JWKS.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(self.public),
        })
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// Signs with this key but names `kid` in the header (forgeries).
    pub fn sign_as(&self, kid: &str, claims: &AccessClaims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

pub fn jwks(keys: &[&TestKey]) -> JwkSet {
    let keys: Vec<_> = keys.iter().map(|k| k.jwk()).collect();
    serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap()
}

/// Valid claims for the default issuer and audience, 15 minutes long.
pub fn claims() -> AccessClaims {
    let now = now();
    AccessClaims {
        iss: "chatflow-auth".into(),
        aud: "chatflow".into(),
        sub: "0190e4c8-7b1a-7000-8000-000000000001".into(),
        sid: "0190e4c8-7b1a-7000-8000-0000000000aa".into(),
        did: "phone-1".into(),
        roles: vec!["user".into()],
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: "jti-1".into(),
    }
}

/// A token from raw parts, for headers no library would produce.
pub fn raw_token(header: serde_json::Value, claims: &AccessClaims, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// An in-process key source that counts fetches and can be switched off.
#[derive(Default)]
pub struct CountingKeys {
    set: Mutex<Option<JwkSet>>,
    pub fetches: AtomicUsize,
}

impl CountingKeys {
    pub fn publishing(keys: &[&TestKey]) -> Arc<Self> {
        let source = Arc::new(Self::default());
        source.publish(keys);
        source
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        *self.set.lock() = Some(jwks(keys));
    }

    /// Makes every later fetch fail, like an auth service that is down.
    pub fn go_down(&self) {
        *self.set.lock() = None;
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl KeySource for CountingKeys {
    async fn fetch(&self) -> Result<JwkSet, AuthnError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.set
            .lock()
            .clone()
            .ok_or_else(|| AuthnError::KeysUnavailable("auth is down".into()))
    }
}

pub async fn memory_cache() -> CacheRef {
    chatflow_cache::connect("memory://", Default::default())
        .await
        .unwrap()
}

/// Test defaults: the production floor, unless a test says otherwise.
pub fn config() -> VerifierConfig {
    VerifierConfig::default()
}

pub async fn verifier_with(
    config: VerifierConfig,
    keys: Arc<CountingKeys>,
) -> (TokenVerifier, CacheRef) {
    let cache = memory_cache().await;
    let verifier = TokenVerifier::new(config, keys, cache.clone()).unwrap();
    (verifier, cache)
}

pub async fn verifier(keys: Arc<CountingKeys>) -> (TokenVerifier, CacheRef) {
    verifier_with(config(), keys).await
}

/// A cache backend whose server is unreachable: every call is `Unavailable`.
pub struct DownCache;

fn down<T>() -> Result<T, CacheError> {
    Err(CacheError::Unavailable("connection refused".into()))
}

#[async_trait]
impl Cache for DownCache {
    async fn get(&self, _: &str) -> Result<Option<Bytes>, CacheError> {
        down()
    }
    async fn set(&self, _: &str, _: &[u8], _: Option<Duration>) -> Result<(), CacheError> {
        down()
    }
    async fn set_if_absent(
        &self,
        _: &str,
        _: &[u8],
        _: Option<Duration>,
    ) -> Result<bool, CacheError> {
        down()
    }
    async fn compare_and_set(
        &self,
        _: &str,
        _: Option<&[u8]>,
        _: &[u8],
        _: Option<Duration>,
    ) -> Result<bool, CacheError> {
        down()
    }
    async fn delete(&self, _: &str) -> Result<bool, CacheError> {
        down()
    }
    async fn incr(&self, _: &str, _: i64, _: Option<Duration>) -> Result<i64, CacheError> {
        down()
    }
    async fn expire(&self, _: &str, _: Duration) -> Result<bool, CacheError> {
        down()
    }
    async fn ttl(&self, _: &str) -> Result<KeyTtl, CacheError> {
        down()
    }
    async fn zadd(&self, _: &str, _: &[u8], _: f64) -> Result<bool, CacheError> {
        down()
    }
    async fn zrem(&self, _: &str, _: &[u8]) -> Result<bool, CacheError> {
        down()
    }
    async fn zrange_by_score(
        &self,
        _: &str,
        _: f64,
        _: f64,
        _: Option<usize>,
    ) -> Result<Vec<(Bytes, f64)>, CacheError> {
        down()
    }
    async fn zrem_range_by_score(&self, _: &str, _: f64, _: f64) -> Result<u64, CacheError> {
        down()
    }
    async fn zcard(&self, _: &str) -> Result<u64, CacheError> {
        down()
    }
    async fn expiring_set_add(&self, _: &str, _: &[u8], _: Duration) -> Result<bool, CacheError> {
        down()
    }
    async fn expiring_set_members(&self, _: &str) -> Result<Vec<Bytes>, CacheError> {
        down()
    }
    async fn expiring_set_remove(&self, _: &str, _: &[u8]) -> Result<bool, CacheError> {
        down()
    }
    async fn publish(&self, _: &str, _: &[u8]) -> Result<(), CacheError> {
        down()
    }
    async fn subscribe(&self, _: &str) -> Result<MessageStream, CacheError> {
        down()
    }
    async fn eval(
        &self,
        _: &AtomicScript,
        _: &[String],
        _: &[i64],
    ) -> Result<Vec<i64>, CacheError> {
        down()
    }
    async fn ping(&self) -> Result<(), CacheError> {
        down()
    }
    fn backend(&self) -> &'static str {
        "down"
    }
}
