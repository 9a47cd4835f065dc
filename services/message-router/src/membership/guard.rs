//! [`GuardedMembership`]: a timeout and a circuit breaker around the
//! membership dependency, so it can fail without making sends hang.
//!
//! A call that times out or fails with a retriable or internal error counts
//! against the breaker and reaches the caller as
//! `RouterError::DependencyUnavailable` (retriable). Once the breaker is
//! open, calls fail at once without touching the dependency until the open
//! period ends and one probe may go through. A refusal (`allowed = false`)
//! or an invalid-argument answer is a healthy dependency.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chatflow_errors::{ErrorKind, HasKind};

use super::{Authorization, MemberAction, Membership, MembershipRef};
use crate::breaker::{Breaker, BreakerState};
use crate::settings::MembershipConfig;
use crate::{RouterError, metrics as m};

const DEPENDENCY: &str = "membership";

/// A membership implementation behind a timeout and a circuit breaker.
pub struct GuardedMembership {
    inner: MembershipRef,
    breaker: Breaker,
    timeout: Duration,
}

impl GuardedMembership {
    /// Guards `inner` as `config` says.
    pub fn new(inner: MembershipRef, config: &MembershipConfig) -> Self {
        Self {
            inner,
            breaker: Breaker::new(
                config.failure_threshold,
                Duration::from_millis(config.open_ms),
            ),
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
        }
    }

    /// The breaker's state, for tests and diagnostics.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    async fn guarded<T>(
        &self,
        call: impl Future<Output = Result<T, RouterError>>,
    ) -> Result<T, RouterError> {
        let permit = self.breaker.admit().map_err(|retry_in| {
            metrics::counter!(m::MEMBERSHIP_FAILURES, "reason" => "breaker_open").increment(1);
            RouterError::DependencyUnavailable {
                dependency: DEPENDENCY,
                reason: format!(
                    "circuit breaker open after repeated failures, retry in {} ms",
                    retry_in.as_millis().max(1)
                ),
            }
        })?;
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => {
                permit.fail();
                metrics::counter!(m::MEMBERSHIP_FAILURES, "reason" => "timeout").increment(1);
                Err(RouterError::DependencyUnavailable {
                    dependency: DEPENDENCY,
                    reason: format!("no answer within {} ms", self.timeout.as_millis()),
                })
            }
            Ok(Err(err)) if unhealthy(err.kind()) => {
                permit.fail();
                metrics::counter!(m::MEMBERSHIP_FAILURES, "reason" => "error").increment(1);
                tracing::warn!(error = %err, "membership call failed");
                Err(RouterError::DependencyUnavailable {
                    dependency: DEPENDENCY,
                    reason: err.to_string(),
                })
            }
            Ok(result) => {
                permit.succeed();
                result
            }
        }
    }
}

/// Failures that say the dependency is unwell (as opposed to a bad question).
fn unhealthy(kind: ErrorKind) -> bool {
    kind.is_retriable() || kind == ErrorKind::Internal
}

#[async_trait]
impl Membership for GuardedMembership {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: MemberAction,
    ) -> Result<Authorization, RouterError> {
        self.guarded(self.inner.authorize(user_id, conversation_id, action))
            .await
    }

    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, RouterError> {
        self.guarded(self.inner.members(conversation_id)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Fails every call, or never answers.
    struct Broken {
        calls: AtomicU32,
        hang: bool,
    }

    #[async_trait]
    impl Membership for Broken {
        async fn authorize(
            &self,
            _: &str,
            _: &str,
            _: MemberAction,
        ) -> Result<Authorization, RouterError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hang {
                std::future::pending::<()>().await;
            }
            Err(RouterError::Remote {
                kind: ErrorKind::Unavailable,
                message: "groups is down".into(),
            })
        }

        async fn members(&self, _: &str) -> Result<Vec<String>, RouterError> {
            Err(RouterError::invalid("bad conversation"))
        }
    }

    fn guarded(hang: bool) -> (Arc<Broken>, GuardedMembership) {
        let inner = Arc::new(Broken {
            calls: AtomicU32::new(0),
            hang,
        });
        let config = MembershipConfig {
            timeout_ms: 100,
            failure_threshold: 3,
            open_ms: 1_000,
        };
        (inner.clone(), GuardedMembership::new(inner, &config))
    }

    #[tokio::test(start_paused = true)]
    async fn failures_open_the_breaker_and_then_nothing_is_called() {
        let (inner, guard) = guarded(false);
        for _ in 0..5 {
            let err = guard
                .authorize("u", "c", MemberAction::Post)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        }
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            3,
            "open breaker still called"
        );
        assert!(matches!(guard.breaker_state(), BreakerState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_dependency_times_out() {
        let (_, guard) = guarded(true);
        let err = guard
            .authorize("u", "c", MemberAction::Read)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no answer within 100 ms"), "{err}");
        assert!(err.is_retriable());
    }

    #[tokio::test]
    async fn bad_questions_do_not_trip_the_breaker() {
        let (_, guard) = guarded(false);
        for _ in 0..5 {
            let err = guard.members("c").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
        assert_eq!(guard.breaker_state(), BreakerState::Closed { failures: 0 });
    }
}
