//! A failing or hanging membership dependency: fast, typed, retriable
//! errors instead of hangs, and an open breaker that stops calling it.

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use chatflow_errors::ErrorKind;
use chatflow_message_router::{Authorization, MemberAction, Membership, RouterError};

/// A membership service that is down: it fails, or never answers.
pub struct Broken {
    pub calls: AtomicU32,
    pub hang: bool,
}

impl Broken {
    pub fn new(hang: bool) -> Self {
        Self {
            calls: AtomicU32::new(0),
            hang,
        }
    }

    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn fail<T>(&self) -> Result<T, RouterError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            std::future::pending::<()>().await;
        }
        Err(RouterError::Remote {
            kind: ErrorKind::Unavailable,
            message: "groups: connection refused".into(),
        })
    }
}

#[async_trait]
impl Membership for Broken {
    async fn authorize(
        &self,
        _: &str,
        _: &str,
        _: MemberAction,
    ) -> Result<Authorization, RouterError> {
        self.fail().await
    }

    async fn members(&self, _: &str) -> Result<Vec<String>, RouterError> {
        self.fail().await
    }
}

/// Instantiates the fault tests for one backend kind.
#[macro_export]
macro_rules! fault_suite {
    ($kind:expr) => {
        fn guarded_config() -> chatflow_message_router::Config {
            let mut config = test_config();
            config.membership.timeout_ms = 200;
            config.membership.failure_threshold = 3;
            config.membership.open_ms = 60_000;
            config
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_failing_membership_opens_the_breaker_and_fails_fast() {
            let env = TestEnv::new($kind).await;
            let broken = std::sync::Arc::new($crate::faults::Broken::new(false));
            let app = TestApp::spawn_on(env.clone(), guarded_config(), broken.clone()).await;
            let path = format!("/v1/conversations/{DIRECT}/messages");
            let started = std::time::Instant::now();
            for i in 0..6 {
                let body = json!({"client_msg_id": format!("m{i}"), "text": "hi"});
                let (status, answer) = app.call(ANN, Method::POST, &path, Some(body)).await;
                assert_eq!(status, 503, "{answer}");
                assert_eq!(answer["error"]["code"], "unavailable");
            }
            let (status, _) = app.call(BOB, Method::GET, &path, None).await;
            assert_eq!(status, 503);
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
            assert_eq!(broken.calls(), 3, "the open breaker kept calling the dependency");
            assert!(matches!((app.breaker)(), chatflow_message_router::BreakerState::Open { .. }));
            let err = app.local.send(send_request(ANN, DIRECT, "m9", "hi")).await.unwrap_err();
            assert!(err.is_retriable() && err.to_string().contains("circuit breaker open"), "{err}");
            let head = env.kv.get(chatflow_message_router::store::keys::HEADS, "c#d_ann_bob", "head").await.unwrap();
            assert!(head.is_none(), "a refused send was stored");
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_hanging_membership_times_out_with_a_retriable_error() {
            let env = TestEnv::new($kind).await;
            let hanging = std::sync::Arc::new($crate::faults::Broken::new(true));
            let app = TestApp::spawn_on(env.clone(), guarded_config(), hanging.clone()).await;
            let started = std::time::Instant::now();
            let err = app.local.send(send_request(ANN, DIRECT, "m1", "hi")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert!(err.to_string().contains("no answer within 200 ms"), "{err}");
            let remote = app.grpc_client();
            let status_err = remote.send(send_request(ANN, DIRECT, "m2", "hi")).await.unwrap_err();
            assert_eq!(status_err.kind(), ErrorKind::Unavailable, "{status_err}");
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
            assert_eq!(hanging.calls(), 2);
            app.shutdown().await;
        }
    };
}
