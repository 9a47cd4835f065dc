//! The tonic layer: calls without a valid token never reach the service.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chatflow_authn::{GrpcAuthLayer, TokenVerifier, grpc_user};
use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer as _, ServiceExt as _};

use crate::support::{CountingKeys, TestKey, claims, verifier};

/// A stand-in gRPC service answering with the caller's user id in a header.
fn service(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Body>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let request = tonic::Request::from_http(request);
            let user = grpc_user(&request).unwrap().user_id.clone();
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert("x-user", user.parse().unwrap());
            Ok(response)
        }
    })
}

async fn call(
    verifier: &TokenVerifier,
    calls: &Arc<AtomicUsize>,
    token: Option<&str>,
) -> Response<Body> {
    let mut request = Request::post("/chatflow.router.v1.Router/Send");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    GrpcAuthLayer::new(verifier.clone())
        .layer(service(calls.clone()))
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn grpc_status(response: &Response<Body>) -> Option<tonic::Status> {
    tonic::Status::from_header_map(response.headers())
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let forged = TestKey::new("x").sign_as("k1", &claims());
    for token in [None, Some("junk"), Some(forged.as_str())] {
        let response = call(&verifier, &calls, token).await;
        let status = grpc_status(&response).expect("a grpc-status");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{token:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the service was never called"
    );
}

#[tokio::test]
async fn a_valid_token_reaches_the_service_with_its_user() {
    let key = TestKey::new("k1");
    let (verifier, _) = verifier(CountingKeys::publishing(&[&key])).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let claims = claims();
    let response = call(&verifier, &calls, Some(&key.sign(&claims))).await;
    assert!(grpc_status(&response).is_none());
    assert_eq!(response.headers()["x-user"], claims.sub.as_str());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn handlers_without_the_layer_fail_closed() {
    let request = tonic::Request::new(());
    assert_eq!(
        grpc_user(&request).unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
}
