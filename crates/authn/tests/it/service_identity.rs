//! Internal-call assertions: valid, stale, tampered, wrong secret; interceptors.

use chatflow_authn::{CallingService, SERVICE_IDENTITY_HEADER, ServiceIdentity, calling_service};
use chatflow_runtime::Secret;
use tonic::service::Interceptor as _;

const SECRET: &str = "an-internal-secret-of-32-bytes-or-more!";

fn identity(name: &str) -> ServiceIdentity {
    ServiceIdentity::new(name, &Secret::new(SECRET.to_owned())).unwrap()
}

fn now_ms() -> i64 {
    crate::support::now() * 1000
}

#[test]
fn a_fresh_assertion_names_its_service() {
    let (gateway, router) = (identity("gateway"), identity("message-router"));
    assert_eq!(
        router.verify(&gateway.assertion()),
        Ok("gateway".to_owned())
    );
}

#[test]
fn stale_or_future_assertions_are_rejected() {
    let (gateway, router) = (identity("gateway"), identity("message-router"));
    let now = now_ms();
    assert!(
        router
            .verify_at(&gateway.assertion_at(now - 59_000), now)
            .is_ok()
    );
    for stamp in [now - 61_000, now + 61_000, 0] {
        let err = router
            .verify_at(&gateway.assertion_at(stamp), now)
            .unwrap_err();
        assert_eq!(err.reason(), "invalid_service_identity", "{stamp}");
    }
}

#[test]
fn tampered_or_foreign_assertions_are_rejected() {
    let router = identity("message-router");
    let good = identity("gateway").assertion();
    let (_, rest) = good.split_once('.').unwrap();
    let (stamp, signature) = rest.split_once('.').unwrap();
    let later: i64 = stamp.parse::<i64>().unwrap() + 1;
    let mut flipped = signature.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let tampered = [
        format!("admin.{rest}"),
        format!("gateway.{later}.{signature}"),
        format!("gateway.{stamp}.{flipped}"),
        format!("gateway.{stamp}."),
        format!("gateway.{stamp}"),
        format!("gate.way.{stamp}.{signature}"),
        format!("gateway.-{stamp}.{signature}"),
        "x".repeat(300),
    ];
    for assertion in tampered {
        assert!(router.verify(&assertion).is_err(), "{assertion}");
    }
    let other = ServiceIdentity::new(
        "gateway",
        &Secret::new("another-secret-of-32-bytes-or-more!!".into()),
    )
    .unwrap();
    assert!(router.verify(&other.assertion()).is_err());
}

#[test]
fn weak_secrets_and_bad_names_are_refused() {
    let short = Secret::new("too-short".to_owned());
    assert!(ServiceIdentity::new("gateway", &short).is_err());
    let secret = Secret::new(SECRET.to_owned());
    for name in ["", "Gateway", "gate.way", &"a".repeat(65)] {
        assert!(ServiceIdentity::new(name, &secret).is_err(), "{name:?}");
    }
}

#[test]
fn interceptors_carry_the_identity_across_a_call() {
    let (gateway, router) = (identity("gateway"), identity("message-router"));
    let outgoing = gateway
        .client_interceptor()
        .call(tonic::Request::new(()))
        .unwrap();
    assert!(outgoing.metadata().get(SERVICE_IDENTITY_HEADER).is_some());

    // What the callee sees: the same metadata, fresh extensions.
    let incoming = tonic::Request::from_parts(outgoing.metadata().clone(), Default::default(), ());
    let mut server = router.server_interceptor();
    let admitted = server.call(incoming).unwrap();
    assert_eq!(
        calling_service(&admitted),
        Some(&CallingService("gateway".into()))
    );

    let status = server.call(tonic::Request::new(())).unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
}
