//! Key rotation, the refetch floor and the HTTP key source.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use chatflow_authn::{AuthnError, InProcessKeySource, TokenVerifier, VerifierConfig};
use chatflow_errors::{ErrorKind, HasKind};

use crate::support::{CountingKeys, TestKey, claims, config, jwks, memory_cache, verifier_with};

fn no_floor() -> VerifierConfig {
    VerifierConfig {
        min_refetch_interval: Duration::ZERO,
        ..config()
    }
}

#[tokio::test]
async fn rotation_picks_up_new_keys_and_keeps_published_old_ones() {
    let (k1, k2) = (TestKey::new("k1"), TestKey::new("k2"));
    let keys = CountingKeys::publishing(&[&k1]);
    let (verifier, _) = verifier_with(no_floor(), keys.clone()).await;
    let claims = claims();
    assert!(verifier.verify(&k1.sign(&claims)).await.is_ok());
    assert_eq!(keys.fetches(), 1);

    // The auth service publishes k2 and starts signing with it.
    keys.publish(&[&k1, &k2]);
    assert!(verifier.verify(&k2.sign(&claims)).await.is_ok());
    assert_eq!(keys.fetches(), 2, "an unknown kid triggers one refetch");
    // Tokens of the old key stay valid while it is published; no refetch.
    assert!(verifier.verify(&k1.sign(&claims)).await.is_ok());
    assert_eq!(keys.fetches(), 2);

    // Once k1 is withdrawn and the set refreshed, its tokens are refused.
    keys.publish(&[&k2]);
    verifier.refresh_keys().await.unwrap();
    assert_eq!(
        verifier.verify(&k1.sign(&claims)).await,
        Err(AuthnError::UnknownKey("k1".into()))
    );
}

/// 200 tokens under made-up kids, signed up front so timing only covers verification.
fn forged_tokens(key: &TestKey, round: usize) -> Vec<String> {
    (0..200)
        .map(|i| key.sign_as(&format!("forged-{round}-{i}"), &claims()))
        .collect()
}

/// Verifies all `tokens` concurrently; each must be an unknown key.
async fn flood(verifier: &TokenVerifier, tokens: &[String]) {
    let results = futures::future::join_all(tokens.iter().map(|t| verifier.verify(t))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(AuthnError::UnknownKey(_))))
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_once_per_floor() {
    let key = TestKey::new("k1");
    let (first, second) = (forged_tokens(&key, 0), forged_tokens(&key, 1));
    let good = key.sign(&claims());

    // The production floor (30 s): a cold cache fetches once for the whole
    // concurrent flood, and not again for the next one.
    let keys = CountingKeys::publishing(&[&key]);
    let (verifier, _) = verifier_with(config(), keys.clone()).await;
    flood(&verifier, &first).await;
    assert_eq!(keys.fetches(), 1);
    flood(&verifier, &second).await;
    assert_eq!(keys.fetches(), 1);
    assert!(
        verifier.verify(&good).await.is_ok(),
        "real tokens still pass"
    );
    assert_eq!(keys.fetches(), 1);

    // Once the floor has passed, the next flood costs exactly one more fetch.
    let floor = Duration::from_millis(200);
    let keys = CountingKeys::publishing(&[&key]);
    let short = VerifierConfig {
        min_refetch_interval: floor,
        ..config()
    };
    let (verifier, _) = verifier_with(short, keys.clone()).await;
    flood(&verifier, &first).await;
    let before = keys.fetches();
    tokio::time::sleep(floor + Duration::from_millis(50)).await;
    flood(&verifier, &second).await;
    assert_eq!(keys.fetches(), before + 1);
}

#[tokio::test]
async fn a_stale_set_is_refreshed_in_the_background() {
    let (k1, k2) = (TestKey::new("k1"), TestKey::new("k2"));
    let keys = CountingKeys::publishing(&[&k1, &k2]);
    let config = VerifierConfig {
        refresh_interval: Duration::ZERO,
        ..no_floor()
    };
    let (verifier, _) = verifier_with(config, keys.clone()).await;
    let old = k1.sign(&claims());
    assert!(verifier.verify(&old).await.is_ok());

    // k1 withdrawn: the cached key answers once more while the refresh runs,
    // then the withdrawal takes effect without any unknown kid.
    keys.publish(&[&k2]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match verifier.verify(&old).await {
            Err(AuthnError::UnknownKey(_)) => break,
            Ok(_) if tokio::time::Instant::now() < deadline => tokio::task::yield_now().await,
            other => panic!("withdrawn key still accepted: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_known_key_survives_a_failed_refresh() {
    let key = TestKey::new("k1");
    let keys = CountingKeys::publishing(&[&key]);
    let config = VerifierConfig {
        refresh_interval: Duration::ZERO,
        ..no_floor()
    };
    let (verifier, _) = verifier_with(config, keys.clone()).await;
    let token = key.sign(&claims());
    assert!(verifier.verify(&token).await.is_ok());
    keys.go_down();
    for _ in 0..5 {
        assert!(verifier.verify(&token).await.is_ok());
        tokio::task::yield_now().await;
    }
    // An unknown kid now cannot be told from a new key: 503, not a pass.
    let err = verifier
        .verify(&key.sign_as("k9", &claims()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn in_process_source_reads_the_live_keys() {
    let key = TestKey::new("k1");
    let set = jwks(&[&key]);
    let source = Arc::new(InProcessKeySource::new(move || set.clone()));
    let verifier =
        TokenVerifier::from_config(config(), Some(source), memory_cache().await).unwrap();
    assert!(verifier.verify(&key.sign(&claims())).await.is_ok());
}

/// Serves `body` with `status` at `/.well-known/jwks.json` on port 0.
async fn jwks_server(status: u16, body: String) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move { (http::StatusCode::from_u16(status).unwrap(), body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/.well-known/jwks.json"), hits)
}

async fn http_verifier(url: String) -> TokenVerifier {
    let config = VerifierConfig {
        jwks_url: Some(url),
        fetch_timeout: Duration::from_secs(2),
        ..config()
    };
    TokenVerifier::from_config(config, None, memory_cache().await).unwrap()
}

#[tokio::test]
async fn http_source_fetches_the_published_set() {
    let key = TestKey::new("k1");
    let body = serde_json::to_string(&jwks(&[&key])).unwrap();
    let (url, hits) = jwks_server(200, body).await;
    let verifier = http_verifier(url).await;
    let token = key.sign(&claims());
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(hits.load(Ordering::SeqCst), 1, "keys are cached");
}

#[tokio::test]
async fn http_source_failures_are_unavailable() {
    let key = TestKey::new("k1");
    let token = key.sign(&claims());
    let oversized = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(100 * 1024));
    for (status, body) in [
        (500, "oops".to_owned()),
        (200, "not json".to_owned()),
        (200, oversized),
    ] {
        let (url, _) = jwks_server(status, body).await;
        let err = http_verifier(url).await.verify(&token).await.unwrap_err();
        assert_eq!(err.reason(), "keys_unavailable", "{status}: {err}");
    }
    // Nobody listening.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let err = http_verifier(url).await.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}
