//! Every way a token can be wrong yields its own error; a good one yields the user.

use std::sync::Arc;
use std::time::Duration;

use chatflow_authn::claims::{revoked_before_key, revoked_session_key};
use chatflow_authn::{AuthnError, MAX_TOKEN_BYTES, TokenVerifier};
use chatflow_errors::{ErrorKind, HasKind};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::{CountingKeys, DownCache, TestKey, claims, config, raw_token, verifier};

#[tokio::test]
async fn a_valid_token_yields_its_user() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let mut claims = claims();
    claims.roles = vec!["user".into(), "operator".into()];
    let user = verifier.verify(&key.sign(&claims)).await.unwrap();
    assert_eq!(user.user_id, claims.sub);
    assert_eq!(user.session_id, claims.sid);
    assert_eq!(user.device_id, "phone-1");
    assert_eq!(user.expires_at, claims.exp);
    assert!(user.has_role("operator") && !user.has_role("admin"));
    let header = format!("Bearer {}", key.sign(&claims));
    assert_eq!(verifier.verify_bearer(Some(&header)).await.unwrap(), user);
}

#[tokio::test]
async fn forged_and_confused_signatures_are_rejected() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let claims = claims();

    // Signed by another Ed25519 key under the published kid.
    let forged = TestKey::new("attacker").sign_as("k1", &claims);
    assert_eq!(
        verifier.verify(&forged).await,
        Err(AuthnError::InvalidSignature)
    );

    // A valid token with its payload swapped keeps a now-wrong signature.
    let good = key.sign(&claims);
    let mut admin = claims.clone();
    admin.roles.push("operator".into());
    let other = key.sign(&admin);
    let spliced = format!(
        "{}.{}.{}",
        good.split('.').next().unwrap(),
        other.split('.').nth(1).unwrap(),
        good.split('.').nth(2).unwrap()
    );
    assert_eq!(
        verifier.verify(&spliced).await,
        Err(AuthnError::InvalidSignature)
    );

    // `alg: none`, with and without an empty signature part.
    let none = raw_token(json!({"alg": "none", "kid": "k1"}), &claims, b"");
    assert_eq!(
        verifier.verify(&none).await,
        Err(AuthnError::UnsupportedAlgorithm("none".into()))
    );
    let none = none.trim_end_matches('.').to_owned();
    assert!(verifier.verify(&none).await.is_err());

    // HS256 "signed" with the public key, raw bytes or its JWK `x` text.
    let x = key.jwk()["x"].as_str().unwrap().to_owned();
    for secret in [key.public.to_vec(), x.into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let confused =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(
            verifier.verify(&confused).await,
            Err(AuthnError::UnsupportedAlgorithm("HS256".into()))
        );
    }

    // Other asymmetric algorithms are refused before any key is chosen.
    for alg in ["RS256", "ES256", "PS256", "EdDSA "] {
        let token = raw_token(json!({"alg": alg, "kid": "k1"}), &claims, &[0; 64]);
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.reason(), "unsupported_algorithm", "{alg}");
    }

    // A key embedded in the header is never trusted.
    let attacker = TestKey::new("k1");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    header.jwk = Some(serde_json::from_value(attacker.jwk()).unwrap());
    let embedded = jsonwebtoken::encode(&header, &claims, &attacker.encoding).unwrap();
    assert_eq!(
        verifier.verify(&embedded).await,
        Err(AuthnError::InvalidSignature)
    );
}

#[tokio::test]
async fn time_issuer_and_audience_are_checked() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let base = claims();
    let with = |f: &dyn Fn(&mut chatflow_authn::claims::AccessClaims)| {
        let mut c = base.clone();
        f(&mut c);
        key.sign(&c)
    };

    let expired = with(&|c| c.exp = base.iat - 120);
    assert_eq!(verifier.verify(&expired).await, Err(AuthnError::Expired));
    let within_leeway = with(&|c| c.exp = base.iat - 10);
    assert!(verifier.verify(&within_leeway).await.is_ok());

    let early = with(&|c| c.nbf = base.iat + 300);
    assert_eq!(verifier.verify(&early).await, Err(AuthnError::NotYetValid));
    let skewed = with(&|c| c.nbf = base.iat + 10);
    assert!(verifier.verify(&skewed).await.is_ok());

    let audience = with(&|c| c.aud = "someone-else".into());
    assert_eq!(
        verifier.verify(&audience).await,
        Err(AuthnError::WrongAudience)
    );
    let issuer = with(&|c| c.iss = "evil-auth".into());
    assert_eq!(verifier.verify(&issuer).await, Err(AuthnError::WrongIssuer));

    let no_session = with(&|c| c.sid = String::new());
    assert_eq!(
        verifier.verify(&no_session).await.unwrap_err().reason(),
        "malformed"
    );
    let long_device = with(&|c| c.did = "d".repeat(65));
    assert_eq!(
        verifier.verify(&long_device).await.unwrap_err().reason(),
        "malformed"
    );
}

#[tokio::test]
async fn unknown_and_missing_key_ids_are_rejected() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let claims = claims();
    let unknown = key.sign_as("k-unknown", &claims);
    assert_eq!(
        verifier.verify(&unknown).await,
        Err(AuthnError::UnknownKey("k-unknown".into()))
    );
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key.encoding).unwrap();
    assert_eq!(
        verifier.verify(&no_kid).await,
        Err(AuthnError::MissingKeyId)
    );
}

#[tokio::test]
async fn malformed_and_oversized_tokens_are_rejected() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    for junk in [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d.e",
        "e30.e30.e30",
        "\u{0}.\u{0}.\u{0}",
    ] {
        let err = verifier.verify(junk).await.unwrap_err();
        assert_eq!(err.reason(), "malformed", "{junk:?}: {err}");
    }
    // A well-signed token whose claims are not access-token claims.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let exp = crate::support::now() + 60;
    let partial = jsonwebtoken::encode(
        &header,
        &json!({"iss": "chatflow-auth", "aud": "chatflow", "sub": "u", "exp": exp, "nbf": 0}),
        &key.encoding,
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&partial).await.unwrap_err().reason(),
        "malformed"
    );

    let mut huge = claims();
    huge.jti = "x".repeat(MAX_TOKEN_BYTES);
    let token = key.sign(&huge);
    assert_eq!(
        verifier.verify(&token).await,
        Err(AuthnError::TooLarge(token.len()))
    );

    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"] {
        let err = verifier.verify_bearer(Some(header)).await.unwrap_err();
        assert_eq!(err.reason(), "malformed", "{header}");
    }
    assert_eq!(
        verifier.verify_bearer(None).await,
        Err(AuthnError::MissingToken)
    );
}

#[tokio::test]
async fn revoked_sessions_and_cutoffs_are_rejected() {
    let key = TestKey::new("k1");
    let (verifier, cache) = verifier(CountingKeys::publishing(&[&key])).await;
    let claims = claims();
    let token = key.sign(&claims);
    assert!(verifier.verify(&token).await.is_ok());

    let ttl = Some(Duration::from_secs(3600));
    cache
        .set(&revoked_session_key(&claims.sid), b"1", ttl)
        .await
        .unwrap();
    assert_eq!(verifier.verify(&token).await, Err(AuthnError::Revoked));
    cache
        .delete(&revoked_session_key(&claims.sid))
        .await
        .unwrap();

    // A cutoff before `iat` leaves the token alone; at or after it revokes.
    let cutoff_key = revoked_before_key(&claims.sub);
    let before = (claims.iat - 1).to_string();
    cache
        .set(&cutoff_key, before.as_bytes(), ttl)
        .await
        .unwrap();
    assert!(verifier.verify(&token).await.is_ok());
    for cutoff in [claims.iat, claims.iat + 5] {
        cache
            .set(&cutoff_key, cutoff.to_string().as_bytes(), ttl)
            .await
            .unwrap();
        assert_eq!(verifier.verify(&token).await, Err(AuthnError::Revoked));
    }

    // An unreadable cutoff fails closed.
    cache.set(&cutoff_key, b"soon", ttl).await.unwrap();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn outages_fail_closed() {
    let key = TestKey::new("k1");
    let token = key.sign(&claims());

    let down_cache = TokenVerifier::new(
        config(),
        CountingKeys::publishing(&[&key]),
        Arc::new(DownCache),
    )
    .unwrap();
    let err = down_cache.verify(&token).await.unwrap_err();
    assert_eq!(err.reason(), "revocation_unavailable");
    assert_eq!(err.kind(), ErrorKind::Unavailable);

    let keys = CountingKeys::publishing(&[&key]);
    keys.go_down();
    let (no_keys, _) = verifier(keys).await;
    let err = no_keys.verify(&token).await.unwrap_err();
    assert_eq!(err.reason(), "keys_unavailable");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn bad_configuration_is_refused() {
    let cache = crate::support::memory_cache().await;
    let mut config = config();
    assert!(TokenVerifier::from_config(config.clone(), None, cache.clone()).is_err());
    config.jwks_url = Some("ftp://auth/jwks.json".into());
    assert!(TokenVerifier::from_config(config.clone(), None, cache.clone()).is_err());
    config.jwks_url = None;
    config.audience = String::new();
    let keys = CountingKeys::publishing(&[]);
    assert!(TokenVerifier::from_config(config, Some(keys), cache).is_err());
}
