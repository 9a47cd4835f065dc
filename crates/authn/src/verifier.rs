//! [`TokenVerifier`]: checks an access token locally and against the revocation list.
//!
//! In order, stopping at the first failure: size (≤ [`MAX_TOKEN_BYTES`]),
//! shape and header (`alg` must be exactly `EdDSA`, a `kid` is required,
//! `crit` is refused, embedded keys such as `jwk`/`jku` are never used), the
//! Ed25519 key published under that `kid`, the signature, `exp`/`nbf` with
//! leeway, `iss`, `aud`, the claim set, and finally the revocation list in
//! the cache port. The algorithm is pinned before any key is touched, so
//! `alg: none` and HS256-signed-with-the-public-key are refused outright.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chatflow_cache::CacheRef;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::claims::{AccessClaims, revoked_before_key, revoked_session_key};
use crate::keys::{HttpKeySource, KeyCache, KeySourceRef};
use crate::{AuthenticatedUser, AuthnError, MAX_TOKEN_BYTES, VerifierConfig, metrics};

/// The one algorithm access tokens may use.
const ALG: &str = "EdDSA";
/// Longest accepted `kid`, so junk never reaches logs or maps unbounded.
const MAX_KID_CHARS: usize = 128;
/// Longest accepted `did` (the auth service enforces the same at login).
const MAX_DEVICE_ID_CHARS: usize = 64;

/// Verifies ChatFlow access tokens; cheap to clone, share one per process.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: VerifierConfig,
    keys: Arc<KeyCache>,
    cache: CacheRef,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier reading keys from `keys` and revocations from `cache`.
    pub fn new(
        config: VerifierConfig,
        keys: KeySourceRef,
        cache: CacheRef,
    ) -> Result<Self, AuthnError> {
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err(AuthnError::InvalidConfig(
                "issuer and audience must not be empty".into(),
            ));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = config.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let keys = Arc::new(KeyCache::new(
            keys,
            config.min_refetch_interval,
            config.refresh_interval,
            config.fetch_timeout,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                keys,
                cache,
                validation,
            }),
        })
    }

    /// A verifier whose keys come from `config.jwks_url` over HTTP (split
    /// mode) or, without a URL, from `in_process` (all-in-one mode).
    pub fn from_config(
        config: VerifierConfig,
        in_process: Option<KeySourceRef>,
        cache: CacheRef,
    ) -> Result<Self, AuthnError> {
        let keys: KeySourceRef = match (&config.jwks_url, in_process) {
            (Some(url), _) => Arc::new(HttpKeySource::new(url.clone(), config.fetch_timeout)?),
            (None, Some(local)) => local,
            (None, None) => {
                return Err(AuthnError::InvalidConfig(
                    "set jwks_url, or run next to the auth service (all-in-one)".into(),
                ));
            }
        };
        Self::new(config, keys, cache)
    }

    /// The settings this verifier was built with.
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// Fetches the key set now, ignoring the refetch floor: call it at
    /// start-up to fail readiness early instead of on the first request.
    pub async fn refresh_keys(&self) -> Result<(), AuthnError> {
        self.inner.keys.force_refresh().await
    }

    /// The user behind `token` (the bare JWT, without `Bearer `), if it is
    /// valid and its session is not revoked. Rejections are counted by reason.
    pub async fn verify(&self, token: &str) -> Result<AuthenticatedUser, AuthnError> {
        self.check(token).await.map_err(metrics::rejected)
    }

    /// The user behind an `Authorization` header value (`Bearer <jwt>`).
    pub async fn verify_bearer(
        &self,
        authorization: Option<&str>,
    ) -> Result<AuthenticatedUser, AuthnError> {
        let Some(value) = authorization else {
            return Err(metrics::rejected(AuthnError::MissingToken));
        };
        let token = bearer_token(value).map_err(metrics::rejected)?;
        self.verify(token).await
    }

    async fn check(&self, token: &str) -> Result<AuthenticatedUser, AuthnError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthnError::TooLarge(token.len()));
        }
        let kid = pinned_key_id(token)?;
        let key = self.inner.keys.key(&kid).await?;
        let claims =
            jsonwebtoken::decode::<AccessClaims>(token, &key, &self.inner.validation)?.claims;
        check_claim_values(&claims)?;
        self.check_revocation(&claims).await?;
        Ok(claims.into())
    }

    /// Revoked if the session is listed, or the user's cutoff is at or after `iat`.
    ///
    /// Any cache failure is an error (503), never a pass: fail closed.
    async fn check_revocation(&self, claims: &AccessClaims) -> Result<(), AuthnError> {
        let cache = &self.inner.cache;
        let (session_key, cutoff_key) = (
            revoked_session_key(&claims.sid),
            revoked_before_key(&claims.sub),
        );
        let (session, cutoff) = tokio::try_join!(cache.get(&session_key), cache.get(&cutoff_key))?;
        if session.is_some() {
            return Err(AuthnError::Revoked);
        }
        if let Some(raw) = cutoff {
            let cutoff = std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    AuthnError::RevocationUnavailable(format!(
                        "unreadable revocation cutoff for user {}",
                        claims.sub
                    ))
                })?;
            if cutoff >= claims.iat {
                return Err(AuthnError::Revoked);
            }
        }
        Ok(())
    }
}

/// The token of an `Authorization` value: scheme `Bearer` (any case), then the token.
pub fn bearer_token(authorization: &str) -> Result<&str, AuthnError> {
    let (scheme, token) = authorization
        .trim()
        .split_once(' ')
        .ok_or_else(|| AuthnError::Malformed("authorization must be `Bearer <token>`".into()))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthnError::Malformed(
            "authorization must be `Bearer <token>`".into(),
        ));
    }
    Ok(token)
}

/// The part of the JOSE header we read before choosing a key.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Checks the header pins EdDSA and names a key; returns the `kid`.
fn pinned_key_id(token: &str) -> Result<String, AuthnError> {
    let malformed = |why: &str| AuthnError::Malformed(why.to_owned());
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "expected a compact JWS: header.payload.signature",
        ));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| malformed("header is not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&header)
        .map_err(|e| AuthnError::Malformed(format!("header: {e}")))?;
    if header.alg != ALG {
        let alg: String = header.alg.chars().take(16).collect();
        return Err(AuthnError::UnsupportedAlgorithm(alg));
    }
    if header.crit.is_some() {
        return Err(malformed("critical header extensions are not supported"));
    }
    match header.kid {
        None => Err(AuthnError::MissingKeyId),
        Some(kid) if kid.is_empty() => Err(AuthnError::MissingKeyId),
        Some(kid) if kid.chars().count() > MAX_KID_CHARS => Err(malformed("kid is too long")),
        Some(kid) => Ok(kid),
    }
}

/// Claims jsonwebtoken does not know about: ids present and bounded.
fn check_claim_values(claims: &AccessClaims) -> Result<(), AuthnError> {
    if claims.sub.is_empty() || claims.sid.is_empty() {
        return Err(AuthnError::Malformed("empty sub or sid".into()));
    }
    if claims.did.is_empty() || claims.did.chars().count() > MAX_DEVICE_ID_CHARS {
        return Err(AuthnError::Malformed(
            "device id is empty or too long".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(json: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(json))
    }

    #[test]
    fn the_header_must_pin_eddsa_and_name_a_key() {
        let ok = pinned_key_id(&header(r#"{"alg":"EdDSA","kid":"k1","typ":"JWT"}"#));
        assert_eq!(ok, Ok("k1".to_owned()));
        for (json, expected) in [
            (r#"{"alg":"none","kid":"k1"}"#, "unsupported_algorithm"),
            (r#"{"alg":"HS256","kid":"k1"}"#, "unsupported_algorithm"),
            (r#"{"alg":"eddsa","kid":"k1"}"#, "unsupported_algorithm"),
            (r#"{"alg":"EdDSA"}"#, "missing_key_id"),
            (r#"{"alg":"EdDSA","kid":""}"#, "missing_key_id"),
            (r#"{"alg":"EdDSA","kid":"k","crit":["b64"]}"#, "malformed"),
            (r#"{"kid":"k1"}"#, "malformed"),
        ] {
            let err = pinned_key_id(&header(json)).expect_err(json);
            assert_eq!(err.reason(), expected, "{json}: {err}");
        }
        for token in ["", "a.b", "a.b.c.d.e", "!!.e30.c2ln"] {
            assert!(pinned_key_id(token).is_err(), "{token}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Ok("abc"));
        assert_eq!(bearer_token("bearer   abc "), Ok("abc"));
        assert!(bearer_token("Basic abc").is_err());
        assert!(bearer_token("Bearer ").is_err());
        assert!(bearer_token("abc").is_err());
    }
}
