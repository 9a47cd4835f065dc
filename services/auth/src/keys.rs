//! The signing-key ring: Ed25519 keys in the store, a short-lived in-memory
//! snapshot, rotation with publish-ahead, and the JWKS.
//!
//! Schedule: a key is published in the JWKS from creation, signs from
//! `activates_at` (creation + `publish_ahead`) until the next key activates
//! (`retires_at`), and stays published until `retires_at + access-token
//! lifetime + leeway`, when no token it signed can still be valid. Every
//! replica computes the same schedule from the same rows, so a rotation on
//! one replica reaches the others at their next reload (≤ [`RELOAD_EVERY`]).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::AuthError;
use crate::clock::now_ms;
use crate::store::{AuthStore, KeyRow};

/// How stale the in-memory snapshot may get before it is reloaded.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A usable key: its schedule and jsonwebtoken handles.
pub struct LiveKey {
    /// Key id (RFC 7638 thumbprint), the JWT header's `kid`.
    pub kid: String,
    /// The raw public key, the JWK's `x`.
    pub public: Vec<u8>,
    /// When it starts signing (Unix ms).
    pub activates_at_ms: i64,
    /// When the next key takes over, if rotated.
    pub retires_at_ms: Option<i64>,
    /// Signs access tokens.
    pub encoding: EncodingKey,
    /// Verifies them (in-process, for this service's own endpoints).
    pub decoding: DecodingKey,
}

struct Snapshot {
    keys: Vec<Arc<LiveKey>>,
    loaded: Instant,
}

/// The key ring; cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    store: AuthStore,
    snapshot: Arc<RwLock<Snapshot>>,
    publish_ahead_ms: i64,
    /// How long a retired key stays published: token lifetime + leeway.
    keep_ms: i64,
}

impl KeyRing {
    /// Loads the keys, creating the first one (active at once) if there is none.
    pub async fn open(
        store: AuthStore,
        publish_ahead_ms: i64,
        keep_ms: i64,
    ) -> Result<Self, AuthError> {
        if store.signing_keys().await?.is_empty() {
            let first = generate(now_ms());
            store
                .add_signing_key(&first, false, keep_ms, now_ms())
                .await?;
            tracing::info!(kid = %first.kid, "created the first signing key");
        }
        let ring = Self {
            store,
            snapshot: Arc::new(RwLock::new(Snapshot {
                keys: Vec::new(),
                loaded: Instant::now(),
            })),
            publish_ahead_ms,
            keep_ms,
        };
        ring.reload().await?;
        Ok(ring)
    }

    /// Publishes a new key now and signs with it after `publish_ahead`;
    /// returns it. Current keys retire when it activates.
    pub async fn rotate(&self) -> Result<Arc<LiveKey>, AuthError> {
        let now = now_ms();
        let key = generate(now + self.publish_ahead_ms);
        self.store
            .add_signing_key(&key, true, self.keep_ms, now)
            .await?;
        self.reload().await?;
        metrics::counter!(crate::metrics::KEY_ROTATIONS).increment(1);
        tracing::info!(kid = %key.kid, activates_at_ms = key.activates_at_ms, "signing key rotated");
        self.find(&key.kid)
            .ok_or_else(|| AuthError::Internal("rotated key vanished".into()))
    }

    /// The key that signs now: the latest activated one.
    pub async fn signing_key(&self) -> Result<Arc<LiveKey>, AuthError> {
        self.reload_if_stale().await;
        let now = now_ms();
        let keys = self.keys();
        keys.iter()
            .filter(|k| k.activates_at_ms <= now)
            .max_by_key(|k| (k.activates_at_ms, k.kid.clone()))
            .or_else(|| keys.iter().min_by_key(|k| k.activates_at_ms))
            .cloned()
            .ok_or_else(|| AuthError::Internal("no signing key".into()))
    }

    /// Every key a valid token may carry, or that will sign soon.
    pub async fn published(&self) -> Vec<Arc<LiveKey>> {
        self.reload_if_stale().await;
        let now = now_ms();
        self.keys()
            .into_iter()
            .filter(|k| k.retires_at_ms.is_none_or(|r| r + self.keep_ms > now))
            .collect()
    }

    /// Kids of [`KeyRing::published`].
    pub async fn published_kids(&self) -> Vec<String> {
        self.published()
            .await
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// A published key by id, reloading once if it is unknown (another replica rotated).
    pub async fn verification_key(&self, kid: &str) -> Option<Arc<LiveKey>> {
        let lookup = |ring: &Self| {
            let now = now_ms();
            ring.find(kid)
                .filter(|k| k.retires_at_ms.is_none_or(|r| r + ring.keep_ms > now))
        };
        if let Some(key) = lookup(self) {
            return Some(key);
        }
        self.reload_if_stale().await;
        lookup(self)
    }

    /// The JWKS document: every published key as an OKP/Ed25519 JWK.
    pub async fn jwks(&self) -> JwkSet {
        self.reload_if_stale().await;
        self.jwks_now()
    }

    /// The JWKS from the in-memory snapshot, without touching the store
    /// (kept fresh by [`KeyRing::keep_fresh`]).
    pub fn jwks_now(&self) -> JwkSet {
        let now = now_ms();
        let keys = self
            .keys()
            .iter()
            .filter(|k| k.retires_at_ms.is_none_or(|r| r + self.keep_ms > now))
            .map(|k| to_jwk(k))
            .collect();
        JwkSet { keys }
    }

    /// Reloads the snapshot every [`RELOAD_EVERY`] until `stop`, so rotations
    /// made by other replicas reach this one's JWKS and in-process readers.
    pub async fn keep_fresh(&self, stop: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {
                    if let Err(err) = self.reload().await {
                        tracing::warn!(error = %err, "cannot reload signing keys");
                    }
                }
            }
        }
    }

    fn keys(&self) -> Vec<Arc<LiveKey>> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .clone()
    }

    fn find(&self, kid: &str) -> Option<Arc<LiveKey>> {
        self.keys().into_iter().find(|k| k.kid == kid)
    }

    async fn reload_if_stale(&self) {
        let stale = self
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .loaded
            .elapsed()
            >= RELOAD_EVERY;
        if stale && let Err(err) = self.reload().await {
            tracing::warn!(error = %err, "cannot reload signing keys; using the cached ones");
        }
    }

    async fn reload(&self) -> Result<(), AuthError> {
        let rows = self.store.signing_keys().await?;
        let keys = rows.iter().map(live).collect::<Result<Vec<_>, _>>()?;
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Snapshot {
            keys,
            loaded: Instant::now(),
        };
        Ok(())
    }
}

/// A fresh key activating at `activates_at_ms`.
fn generate(activates_at_ms: i64) -> KeyRow {
    let seed = crate::crypto::random_bytes::<32>();
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    KeyRow {
        kid: thumbprint(&public),
        private_key: seed.to_vec(),
        public_key: public.to_vec(),
        activates_at_ms,
        retires_at_ms: None,
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key (members in lexicographic order).
fn thumbprint(public: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public)
    );
    URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(canonical.as_bytes()))
}

fn live(row: &KeyRow) -> Result<Arc<LiveKey>, AuthError> {
    if row.private_key.len() != 32 || row.public_key.len() != 32 {
        return Err(AuthError::Internal(format!(
            "signing key {} is corrupt",
            row.kid
        )));
    }
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&row.private_key);
    let decoding = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(&row.public_key))
        .map_err(|e| AuthError::Internal(format!("signing key {}: {e}", row.kid)))?;
    Ok(Arc::new(LiveKey {
        kid: row.kid.clone(),
        public: row.public_key.clone(),
        activates_at_ms: row.activates_at_ms,
        retires_at_ms: row.retires_at_ms,
        encoding: EncodingKey::from_ed_der(&der),
        decoding,
    }))
}

fn to_jwk(key: &LiveKey) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(key.kid.clone()),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(&key.public),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ring(publish_ahead_ms: i64, keep_ms: i64) -> (KeyRing, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let sql =
            chatflow_sql::SqlStore::connect(&url, chatflow_sql::SqlOptions::for_schema("auth"))
                .await
                .unwrap();
        let store = AuthStore::open(sql).await.unwrap();
        (
            KeyRing::open(store, publish_ahead_ms, keep_ms)
                .await
                .unwrap(),
            dir,
        )
    }

    #[tokio::test]
    async fn a_rotated_key_is_published_before_it_signs() {
        let (ring, _dir) = ring(60_000, 60_000).await;
        let first = ring.signing_key().await.unwrap();
        let next = ring.rotate().await.unwrap();
        assert_eq!(
            ring.signing_key().await.unwrap().kid,
            first.kid,
            "not active yet"
        );
        let kids = ring.published_kids().await;
        assert!(
            kids.contains(&first.kid) && kids.contains(&next.kid),
            "{kids:?}"
        );
        assert_eq!(ring.jwks_now().keys.len(), 2);
    }

    #[tokio::test]
    async fn retired_keys_leave_the_jwks_after_the_token_lifetime() {
        let (ring, _dir) = ring(0, 300).await;
        let first = ring.signing_key().await.unwrap();
        let next = ring.rotate().await.unwrap();
        assert_eq!(
            ring.signing_key().await.unwrap().kid,
            next.kid,
            "active at once"
        );
        assert_eq!(
            ring.published_kids().await.len(),
            2,
            "old tokens still verify"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(ring.published_kids().await, vec![next.kid.clone()]);
        assert!(ring.verification_key(&first.kid).await.is_none());
        // The next rotation deletes the expired private key from the store.
        ring.rotate().await.unwrap();
        let stored: Vec<String> = ring
            .store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert!(!stored.contains(&first.kid), "{stored:?}");
    }

    #[test]
    fn generated_keys_sign_and_verify_as_eddsa() {
        let row = generate(0);
        assert_eq!(row.kid, thumbprint(&row.public_key));
        let key = live(&row).unwrap();
        let header = jsonwebtoken::Header {
            kid: Some(key.kid.clone()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA)
        };
        let claims = serde_json::json!({"sub": "u", "exp": 4_000_000_000u64});
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.validate_aud = false;
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(&token, &key.decoding, &validation).unwrap();
        assert_eq!(decoded.claims["sub"], "u");
        let jwk = serde_json::to_value(to_jwk(&key)).unwrap();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
    }
}
