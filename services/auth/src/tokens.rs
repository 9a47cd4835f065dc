//! Access tokens: EdDSA JWTs with `kid`, carrying [`AccessClaims`], issued
//! with the ring's signing key and verified against its published keys.

use chatflow_authn::claims::AccessClaims;
use jsonwebtoken::{Algorithm, Header, Validation};

use crate::AuthError;
use crate::clock::now_secs;
use crate::keys::KeyRing;

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedAccess {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Who an access token is about, in the issuer's terms.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The user (`sub`).
    pub user_id: &'a str,
    /// The session (`sid`).
    pub session_id: &'a str,
    /// The device (`did`).
    pub device_id: &'a str,
    /// The roles.
    pub roles: &'a [String],
    /// Earliest `iat` (Unix seconds): one past the user's revocation cutoff,
    /// so a token minted in the second of a "revoke all before now" still
    /// verifies. The verifier's leeway covers the sub-second early `nbf`.
    pub min_issued_at: i64,
}

/// Issues and checks access tokens; cheap to clone.
#[derive(Clone)]
pub struct Tokens {
    keys: KeyRing,
    issuer: String,
    audience: String,
    ttl_secs: u64,
    leeway_secs: u64,
}

impl Tokens {
    /// Tokens from `keys` with the configured claims and lifetime.
    pub fn new(
        keys: KeyRing,
        issuer: String,
        audience: String,
        ttl_secs: u64,
        leeway_secs: u64,
    ) -> Self {
        Self {
            keys,
            issuer,
            audience,
            ttl_secs,
            leeway_secs,
        }
    }

    /// The key ring behind these tokens.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Signs an access token for `subject` with the current signing key.
    pub async fn issue(&self, subject: &Subject<'_>) -> Result<IssuedAccess, AuthError> {
        let key = self.keys.signing_key().await?;
        let now = now_secs().max(subject.min_issued_at);
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.user_id.to_owned(),
            sid: subject.session_id.to_owned(),
            did: subject.device_id.to_owned(),
            roles: subject.roles.to_vec(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let header = Header {
            kid: Some(key.kid.clone()),
            ..Header::new(Algorithm::EdDSA)
        };
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| AuthError::Internal(format!("cannot sign access token: {e}")))?;
        Ok(IssuedAccess {
            token,
            expires_in: self.ttl_secs,
        })
    }

    /// Checks signature (EdDSA only, by `kid`), `iss`, `aud`, `exp` and `nbf`.
    /// Revocation is the caller's to check.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let invalid =
            |why: String| AuthError::Unauthenticated(format!("invalid access token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid".into()))?;
        let key = self
            .keys
            .verification_key(&kid)
            .await
            .ok_or_else(|| invalid(format!("unknown kid {kid}")))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway_secs;
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| invalid(e.to_string()))
    }
}
