//! A stand-in for the auth service's signing side, so services that only
//! verify tokens can be tested without running auth: [`TestIssuer`] holds an
//! Ed25519 key, publishes it as a key source and mints access tokens with
//! the claims the real issuer would put in them.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chatflow_authn::claims::{AccessClaims, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use chatflow_authn::{InProcessKeySource, JwkSet, KeySourceRef, TokenVerifier, VerifierConfig};
use chatflow_cache::CacheRef;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Signs access tokens with one fresh Ed25519 key; cheap to clone.
#[derive(Clone)]
pub struct TestIssuer {
    kid: String,
    encoding: EncodingKey,
    jwks: Arc<JwkSet>,
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestIssuer {
    /// An issuer with a new random key.
    pub fn new() -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let der = signing.to_pkcs8_der().unwrap();
        let kid = format!("test-{}", uuid::Uuid::now_v7().simple());
        let jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": kid, "x": URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes()),
        });
        let jwks = serde_json::from_value(serde_json::json!({ "keys": [jwk] })).unwrap();
        Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwks: Arc::new(jwks),
        }
    }

    /// The published key set, as an in-process key source.
    pub fn key_source(&self) -> KeySourceRef {
        let jwks = self.jwks.clone();
        Arc::new(InProcessKeySource::new(move || (*jwks).clone()))
    }

    /// A verifier with default settings trusting this issuer, revocations in `cache`.
    pub fn verifier(&self, cache: CacheRef) -> TokenVerifier {
        TokenVerifier::new(VerifierConfig::default(), self.key_source(), cache).unwrap()
    }

    /// A 15-minute token for `user_id` with role `user` plus `extra_roles`,
    /// on its own session and device `device-1`.
    pub fn token(&self, user_id: &str, extra_roles: &[&str]) -> String {
        let mut roles = vec!["user".to_owned()];
        roles.extend(extra_roles.iter().map(|r| (*r).to_owned()));
        self.sign(&self.claims(user_id, roles))
    }

    /// Valid claims for `user_id` that a test may alter before [`Self::sign`].
    pub fn claims(&self, user_id: &str, roles: Vec<String>) -> AccessClaims {
        let now = chatflow_runtime::clock::now_secs();
        AccessClaims {
            iss: DEFAULT_ISSUER.to_owned(),
            aud: DEFAULT_AUDIENCE.to_owned(),
            sub: user_id.to_owned(),
            sid: uuid::Uuid::now_v7().to_string(),
            did: "device-1".to_owned(),
            roles,
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// Signs `claims` with this issuer's key.
    pub fn sign(&self, claims: &AccessClaims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}
