//! [`RateLimiter`]: one atomic GCRA script call per check, on whichever
//! cache the process has (Redis, shared by every node; in-process when embedded).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

// Wall-clock Unix milliseconds: every node must agree (keep them NTP-synchronised).
use chatflow_runtime::clock::now_ms;

use chatflow_cache::{CacheError, CacheRef, GcraOutcome, gcra};
use chatflow_flags::FlagCache;

use crate::live::LivePolicies;
use crate::metrics::{CHECK_SECONDS, CHECKS};
use crate::{Policies, Policy, RateLimitError};

/// Longest subject key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest cost of one check.
pub const MAX_COST: u32 = 1000;
/// Namespace of limiter keys in the cache: `rl:<action>:<subject>`.
const KEY_PREFIX: &str = "rl:";
/// At most one "cache unreachable" warning per this many milliseconds.
const WARN_EVERY_MS: i64 = 10_000;

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is admitted (and was counted).
    pub allowed: bool,
    /// When refused, how long until the same request would be admitted; zero when allowed.
    pub retry_after: Duration,
    /// How many more unit-cost requests would be admitted right now.
    pub remaining: u32,
    /// The most requests admitted at once (the policy's burst), which
    /// `remaining` counts down from; what `RateLimit-Limit` reports.
    pub limit: u32,
    /// How long until the full burst is available again, rounded up to whole
    /// emission intervals (`period / limit`), so never early.
    pub reset_after: Duration,
    /// The cache could not be reached and the policy fails open: admitted
    /// without being counted, and `remaining`/`reset_after` mean nothing.
    pub degraded: bool,
}

/// Checks requests against the policies in effect; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    cache: CacheRef,
    policies: LivePolicies,
    last_warning_ms: AtomicI64,
}

impl RateLimiter {
    /// A limiter keeping its state in `cache`, with `policies` from the file
    /// overridden live by the `ratelimit.policies` flag in `flags`.
    pub fn new(cache: CacheRef, policies: Policies, flags: Option<FlagCache>) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                policies: LivePolicies::new(policies, flags),
                last_warning_ms: AtomicI64::new(i64::MIN),
            }),
        }
    }

    /// The policy in effect for `action` now (flag > file), if any.
    pub fn policy(&self, action: &str) -> Option<Policy> {
        self.inner.policies.resolve(action)
    }

    /// Counts `cost` units of `action` for `subject_key` if the policy
    /// admits them now; a refusal is `Ok` with `allowed: false`.
    ///
    /// One script call, atomic on the backend: concurrent checks on any
    /// number of nodes admit exactly what the policy allows. If the cache
    /// fails, a `fail_open` policy admits (a `degraded` decision) and any
    /// other is [`RateLimitError::Unavailable`].
    pub async fn check(
        &self,
        action: &str,
        subject_key: &str,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        let started = Instant::now();
        let result = self.decide(action, subject_key, cost).await;
        let (action_label, outcome) = match &result {
            Ok(decision) if decision.degraded => (action.to_owned(), "fail_open"),
            Ok(decision) if decision.allowed => (action.to_owned(), "allowed"),
            Ok(_) => (action.to_owned(), "limited"),
            Err(RateLimitError::Unavailable { .. }) => (action.to_owned(), "fail_closed"),
            // Unknown actions come from callers: keep label values bounded.
            Err(RateLimitError::UnknownAction(_)) => ("unknown".to_owned(), "invalid"),
            Err(_) => (action.to_owned(), "invalid"),
        };
        metrics::counter!(CHECKS, "action" => action_label.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!(CHECK_SECONDS, "action" => action_label)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// Forgets `subject_key`'s history under `action`, e.g. the failed
    /// logins of an account once its owner signs in.
    pub async fn reset(&self, action: &str, subject_key: &str) -> Result<(), RateLimitError> {
        check_key(subject_key)?;
        let key = format!("{KEY_PREFIX}{action}:{subject_key}");
        match self.inner.cache.delete(&key).await {
            Ok(_) => Ok(()),
            Err(source) => Err(RateLimitError::Unavailable {
                action: action.to_owned(),
                source,
            }),
        }
    }

    async fn decide(
        &self,
        action: &str,
        subject_key: &str,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        let policy = self
            .policy(action)
            .ok_or_else(|| RateLimitError::UnknownAction(action.to_owned()))?;
        check_key(subject_key)?;
        check_cost(cost, &policy)?;
        let key = format!("{KEY_PREFIX}{action}:{subject_key}");
        let args = [
            policy.interval_ms(),
            policy.tolerance_ms(),
            i64::from(cost),
            now_ms(),
        ];
        let outcome = match self.inner.cache.eval(gcra(), &[key], &args).await {
            Ok(reply) => GcraOutcome::from_reply(&reply),
            Err(err) => Err(err),
        };
        match outcome {
            Ok(outcome) => Ok(decision(&policy, outcome)),
            Err(source) => self.on_cache_failure(&policy, source),
        }
    }

    /// Admits or refuses by the policy's failure mode, warning now and then.
    fn on_cache_failure(
        &self,
        policy: &Policy,
        source: CacheError,
    ) -> Result<Decision, RateLimitError> {
        let now = now_ms();
        let last = self.inner.last_warning_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_MS
            && self
                .inner
                .last_warning_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                action = %policy.name,
                fail_open = policy.fail_open,
                error = %source,
                "rate-limit state unreachable"
            );
        }
        if policy.fail_open {
            return Ok(Decision {
                allowed: true,
                retry_after: Duration::ZERO,
                remaining: policy.burst,
                limit: policy.burst,
                reset_after: Duration::ZERO,
                degraded: true,
            });
        }
        Err(RateLimitError::Unavailable {
            action: policy.name.clone(),
            source,
        })
    }
}

/// Turns the script's answer into a decision with the policy's numbers.
fn decision(policy: &Policy, outcome: GcraOutcome) -> Decision {
    let interval = policy.interval_ms().unsigned_abs();
    let remaining = u32::try_from(outcome.remaining)
        .unwrap_or(u32::MAX)
        .min(policy.burst);
    let used = u64::from(policy.burst - remaining);
    let retry_after = match (outcome.allowed, outcome.retry_after) {
        (true, _) => Duration::ZERO,
        (false, Some(wait)) => wait,
        // Unreachable: costs above the burst are refused before the script runs.
        (false, None) => Duration::from_millis(interval),
    };
    Decision {
        allowed: outcome.allowed,
        retry_after,
        remaining,
        limit: policy.burst,
        reset_after: Duration::from_millis(interval.saturating_mul(used)),
        degraded: false,
    }
}

/// Subject keys: 1 to [`MAX_KEY_BYTES`] bytes, no control characters.
fn check_key(key: &str) -> Result<(), RateLimitError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(RateLimitError::InvalidKey(format!(
            "key is {} bytes; it must be 1 to {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(RateLimitError::InvalidKey(
            "key contains a control character".into(),
        ));
    }
    Ok(())
}

/// Costs: 1 to [`MAX_COST`], and never more than the burst (it could never pass).
fn check_cost(cost: u32, policy: &Policy) -> Result<(), RateLimitError> {
    if !(1..=MAX_COST).contains(&cost) {
        return Err(RateLimitError::InvalidCost(format!(
            "cost {cost} must be between 1 and {MAX_COST}"
        )));
    }
    if cost > policy.burst {
        return Err(RateLimitError::InvalidCost(format!(
            "cost {cost} exceeds the burst {} of {}, so it could never be admitted",
            policy.burst, policy.name
        )));
    }
    Ok(())
}
