//! Where verification keys come from, and the cache in front of them.
//!
//! A [`KeySource`] yields the auth service's published key set: over HTTP
//! ([`HttpKeySource`], split mode) or straight from the auth service in the
//! same process ([`InProcessKeySource`], all-in-one). [`KeyCache`] keeps the
//! Ed25519 keys by `kid` and fetches again when a token names an unknown
//! `kid` — at most once per `min_refetch_interval`, one fetch at a time —
//! or when the set is older than `refresh_interval`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use parking_lot::RwLock;

use crate::AuthnError;
use crate::metrics::{JWKS_FETCHES, describe_fetch};

/// Largest key-set document accepted over HTTP.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A shared handle to a key source.
pub type KeySourceRef = Arc<dyn KeySource>;

/// Yields the auth service's currently published verification keys.
#[async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// The current key set; failures are [`AuthnError::KeysUnavailable`].
    async fn fetch(&self) -> Result<JwkSet, AuthnError>;
}

/// Fetches `/.well-known/jwks.json` from the auth service over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpKeySource {
    url: String,
    client: reqwest::Client,
}

impl HttpKeySource {
    /// A source for the full key-set `url`; each fetch is bounded by `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, AuthnError> {
        let url = url.into();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AuthnError::InvalidConfig(format!(
                "jwks_url {url:?} must be an http(s) URL"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthnError::InvalidConfig(format!("http client: {e}")))?;
        Ok(Self { url, client })
    }
}

#[async_trait]
impl KeySource for HttpKeySource {
    async fn fetch(&self) -> Result<JwkSet, AuthnError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            AuthnError::KeysUnavailable(format!("GET {}: {e}", self.url))
        };
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(&e))?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(unavailable(&format!("key set over {MAX_JWKS_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| unavailable(&format!("bad key set: {e}")))
    }
}

/// The auth service's own keys, handed over in-process (all-in-one mode).
#[derive(Clone)]
pub struct InProcessKeySource(Arc<dyn Fn() -> JwkSet + Send + Sync>);

impl InProcessKeySource {
    /// Calls `current_keys` on every fetch; it should be cheap (a read lock).
    pub fn new(current_keys: impl Fn() -> JwkSet + Send + Sync + 'static) -> Self {
        Self(Arc::new(current_keys))
    }
}

impl std::fmt::Debug for InProcessKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcessKeySource")
    }
}

#[async_trait]
impl KeySource for InProcessKeySource {
    async fn fetch(&self) -> Result<JwkSet, AuthnError> {
        Ok((self.0)())
    }
}

/// Ed25519 keys by `kid`, refetched on demand with a floor.
pub(crate) struct KeyCache {
    source: KeySourceRef,
    min_refetch_interval: Duration,
    refresh_interval: Duration,
    fetch_timeout: Duration,
    state: RwLock<State>,
    /// Held across one fetch, so concurrent misses share it (single flight).
    fetching: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    last_error: Option<String>,
}

impl KeyCache {
    pub(crate) fn new(
        source: KeySourceRef,
        min_refetch_interval: Duration,
        refresh_interval: Duration,
        fetch_timeout: Duration,
    ) -> Self {
        Self {
            source,
            min_refetch_interval,
            refresh_interval,
            fetch_timeout,
            state: RwLock::new(State::default()),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The key for `kid`, fetching the set if it is unknown or stale.
    ///
    /// An unknown `kid` waits for a fetch (unless the floor forbids one); a
    /// known key of a stale set is served at once while a background task
    /// refreshes the set, so a slow or dead auth service never stalls
    /// requests carrying known keys. An unknown `kid` while the last fetch
    /// failed is `KeysUnavailable` (fail closed).
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Result<DecodingKey, AuthnError> {
        let (cached, stale, may_fetch) = {
            let state = self.state.read();
            let stale = state
                .fetched_at
                .is_none_or(|at| at.elapsed() >= self.refresh_interval);
            (state.keys.get(kid).cloned(), stale, self.may_fetch(&state))
        };
        if let Some(key) = cached {
            if stale && may_fetch {
                self.spawn_refresh();
            }
            return Ok(key);
        }
        if may_fetch {
            let _flight = self.fetching.lock().await;
            // Whoever held the lock before us may just have fetched.
            if self.may_fetch(&self.state.read()) {
                // The outcome is recorded in `state`, read just below.
                let _ = self.fetch_and_store().await;
            }
        }
        let state = self.state.read();
        match (state.keys.get(kid), &state.last_error) {
            (Some(key), _) => Ok(key.clone()),
            (None, Some(error)) => Err(AuthnError::KeysUnavailable(error.clone())),
            (None, None) => Err(AuthnError::UnknownKey(kid.to_owned())),
        }
    }

    /// Refreshes in the background unless a fetch is already running.
    fn spawn_refresh(self: &Arc<Self>) {
        let Ok(flight) = Arc::clone(&self.fetching).try_lock_owned() else {
            return;
        };
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let _flight = flight;
            if this.may_fetch(&this.state.read()) {
                let _ = this.fetch_and_store().await;
            }
        });
    }

    /// Fetches now, floor ignored: for warming up at start-up and for tests.
    pub(crate) async fn force_refresh(&self) -> Result<(), AuthnError> {
        let _flight = self.fetching.lock().await;
        self.fetch_and_store().await
    }

    /// Whether the floor allows another fetch; a failed fetch is retried
    /// sooner (after at most a second) so an auth restart heals quickly.
    fn may_fetch(&self, state: &State) -> bool {
        let floor = match state.last_error {
            Some(_) => self.min_refetch_interval.min(Duration::from_secs(1)),
            None => self.min_refetch_interval,
        };
        state.attempted_at.is_none_or(|at| at.elapsed() >= floor)
    }

    async fn fetch_and_store(&self) -> Result<(), AuthnError> {
        self.state.write().attempted_at = Some(Instant::now());
        let fetched = match tokio::time::timeout(self.fetch_timeout, self.source.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(AuthnError::KeysUnavailable(format!(
                "key set fetch timed out after {:?}",
                self.fetch_timeout
            ))),
        };
        metrics::counter!(JWKS_FETCHES, "outcome" => describe_fetch(&fetched)).increment(1);
        let mut state = self.state.write();
        match fetched {
            Ok(set) => {
                state.keys = usable_keys(&set);
                state.fetched_at = Some(Instant::now());
                state.last_error = None;
                tracing::debug!(keys = state.keys.len(), "signing keys fetched");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "cannot fetch signing keys");
                state.last_error = Some(error.to_string());
                Err(error)
            }
        }
    }
}

/// The Ed25519 signing keys of `set` by `kid`; anything else is skipped, so
/// an RSA, EC or symmetric key published by mistake can never verify a token.
fn usable_keys(set: &JwkSet) -> HashMap<String, DecodingKey> {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.as_deref() else {
            continue;
        };
        let ed25519 = matches!(&jwk.algorithm,
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519);
        let signing = matches!(
            jwk.common.public_key_use,
            None | Some(PublicKeyUse::Signature)
        );
        let eddsa = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::EdDSA));
        match DecodingKey::from_jwk(jwk) {
            Ok(key) if ed25519 && signing && eddsa && key.as_bytes().len() == 32 => {
                keys.insert(kid.to_owned(), key);
            }
            _ => tracing::warn!(
                kid,
                "skipping a published key that is not an Ed25519 signing key"
            ),
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(json: serde_json::Value) -> JwkSet {
        serde_json::from_value(json).expect("valid jwks")
    }

    #[test]
    fn only_ed25519_signing_keys_are_kept() {
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let keys = usable_keys(&set(serde_json::json!({ "keys": [
            { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "good", "alg": "EdDSA", "use": "sig" },
            { "kty": "OKP", "crv": "Ed25519", "x": x },
            { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "enc", "use": "enc" },
            { "kty": "oct", "k": "c2VjcmV0", "kid": "hmac" },
            { "kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "short" },
        ]})));
        assert_eq!(keys.keys().collect::<Vec<_>>(), [&"good".to_owned()]);
    }
}
