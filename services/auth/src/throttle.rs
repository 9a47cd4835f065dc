//! Throttles on logins, MFA codes and code delivery: GCRA in the cache port,
//! so limits hold across replicas (Redis) or in one process (embedded).

use std::time::Duration;

use chatflow_cache::{CacheRef, GcraOutcome, gcra};

use crate::clock::now_ms;
use crate::{AuthError, Limit};

/// Checks and counts requests against [`Limit`]s; cheap to clone.
#[derive(Clone)]
pub struct Throttle {
    cache: CacheRef,
}

impl Throttle {
    /// Throttles kept in `cache`.
    pub fn new(cache: CacheRef) -> Self {
        Self { cache }
    }

    /// Counts one request for `subject` under throttle `name`; `Throttled`
    /// with the wait when over the limit. The cache being down refuses the
    /// request (fail closed): unthrottled logins are worse than none.
    pub async fn hit(
        &self,
        name: &'static str,
        subject: &str,
        limit: Limit,
    ) -> Result<(), AuthError> {
        let requests = i64::from(limit.requests.max(1));
        let period_ms = i64::try_from(limit.per_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let interval = (period_ms / requests).clamp(1, chatflow_cache::GCRA_MAX_INTERVAL_MS);
        let tolerance = (interval * (requests - 1)).min(chatflow_cache::GCRA_MAX_TOLERANCE_MS);
        let reply = self
            .cache
            .eval(
                gcra(),
                &[key(name, subject)],
                &[interval, tolerance, 1, now_ms()],
            )
            .await?;
        let outcome = GcraOutcome::from_reply(&reply)?;
        if outcome.allowed {
            return Ok(());
        }
        metrics::counter!(crate::metrics::THROTTLED, "throttle" => name).increment(1);
        tracing::info!(throttle = name, "request throttled");
        Err(AuthError::Throttled {
            retry_after: outcome
                .retry_after
                .unwrap_or(Duration::from_millis(interval as u64)),
        })
    }

    /// Forgets `subject`'s history under `name` (after a successful login).
    pub async fn clear(&self, name: &'static str, subject: &str) {
        if let Err(err) = self.cache.delete(&key(name, subject)).await {
            tracing::warn!(error = %err, throttle = name, "cannot clear throttle");
        }
    }
}

fn key(name: &str, subject: &str) -> String {
    format!("auth:throttle:{name}:{subject}")
}
