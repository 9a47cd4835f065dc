//! The axum extractors: 401 with a challenge, 403 without the role, 200 with it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::routing::get;
use chatflow_authn::claims::revoked_session_key;
use chatflow_authn::{Authenticated, Operator, RequireRole, TokenVerifier};
use http::{Request, StatusCode, header};
use tower::ServiceExt as _;

use crate::support::{CountingKeys, DownCache, TestKey, claims, config, verifier};

#[derive(Clone)]
struct AppState {
    verifier: TokenVerifier,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

fn app(verifier: TokenVerifier) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Authenticated(user): Authenticated| async move { user.user_id }),
        )
        .route(
            "/ops",
            get(|RequireRole(user, _): RequireRole<Operator>| async move { user.device_id }),
        )
        .with_state(AppState { verifier })
}

struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    body: String,
}

async fn call(app: &Router, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    Reply {
        status,
        challenge,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn missing_and_bad_tokens_get_401_with_a_challenge() {
    let key = TestKey::new("k1");
    let (verifier, cache) = verifier(CountingKeys::publishing(&[&key])).await;
    let app = app(verifier);

    let missing = call(&app, "/me", None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.challenge.as_deref(),
        Some(r#"Bearer realm="chatflow""#)
    );
    assert_eq!(
        missing.body,
        r#"{"error":{"code":"unauthenticated","message":"missing bearer token"}}"#
    );

    let forged = format!("Bearer {}", TestKey::new("x").sign_as("k1", &claims()));
    for authorization in [forged.as_str(), "Bearer not-a-jwt", "Basic abc"] {
        let reply = call(&app, "/me", Some(authorization)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{authorization}");
        assert_eq!(
            reply.challenge.as_deref(),
            Some(r#"Bearer error="invalid_token""#)
        );
        assert!(
            reply.body.contains(r#""code":"unauthenticated""#),
            "{}",
            reply.body
        );
    }

    let claims = claims();
    let good = format!("Bearer {}", key.sign(&claims));
    cache
        .set(&revoked_session_key(&claims.sid), b"1", None)
        .await
        .unwrap();
    let revoked = call(&app, "/me", Some(&good)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(revoked.body.contains("revoked"), "{}", revoked.body);
}

#[tokio::test]
async fn roles_decide_between_403_and_200() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let app = app(verifier);
    let mut claims = claims();
    let user = format!("Bearer {}", key.sign(&claims));

    let me = call(&app, "/me", Some(&user)).await;
    assert_eq!(
        (me.status, me.body.as_str()),
        (StatusCode::OK, claims.sub.as_str())
    );

    let denied = call(&app, "/ops", Some(&user)).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert!(denied.body.contains(r#""code":"permission_denied""#));

    claims.roles.push("operator".into());
    let operator = format!("Bearer {}", key.sign(&claims));
    let ok = call(&app, "/ops", Some(&operator)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "phone-1"));
    // Without a token a role check is still a 401, not a 403.
    assert_eq!(
        call(&app, "/ops", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_revocation_list_outage_is_503_not_a_pass() {
    let key = TestKey::new("k1");
    let verifier = TokenVerifier::new(
        config(),
        CountingKeys::publishing(&[&key]),
        Arc::new(DownCache),
    )
    .unwrap();
    let token = format!("Bearer {}", key.sign(&claims()));
    let reply = call(&app(verifier), "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.challenge, None);
}
