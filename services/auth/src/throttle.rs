//! Throttles on logins, MFA codes and code delivery, enforced by the shared
//! rate limiter (`chatflow-rate-limit`): GCRA in the cache port, so limits
//! hold across replicas (Redis) or in one process (embedded).
//!
//! Each throttle is a rate-limit action (`auth.login.account`, ...) whose
//! policy comes from this service's [`ThrottleConfig`]; every auth action
//! fails closed, because unthrottled logins are worse than none.

use std::collections::BTreeMap;
use std::time::Duration;

use chatflow_cache::CacheRef;
use chatflow_rate_limit::{Policies, PolicySpec, RateLimitError, RateLimiter};

use crate::{AuthError, Limit, ThrottleConfig};

/// What is being throttled; each is one rate-limit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Login attempts from one client IP.
    LoginIp,
    /// Password attempts against one account (login and password change).
    LoginAccount,
    /// MFA code attempts of one account.
    Mfa,
    /// Verification and reset codes sent to one destination.
    Codes,
}

impl Action {
    /// The rate-limit action name.
    pub fn name(self) -> &'static str {
        match self {
            Self::LoginIp => "auth.login.ip",
            Self::LoginAccount => "auth.login.account",
            Self::Mfa => "auth.mfa.account",
            Self::Codes => "auth.codes.destination",
        }
    }

    fn limit(self, config: &ThrottleConfig) -> Limit {
        match self {
            Self::LoginIp => config.login_per_ip,
            Self::LoginAccount => config.login_per_account,
            Self::Mfa => config.mfa_per_account,
            Self::Codes => config.codes_per_destination,
        }
    }

    const ALL: [Self; 4] = [Self::LoginIp, Self::LoginAccount, Self::Mfa, Self::Codes];
}

/// Checks and counts requests; cheap to clone.
#[derive(Clone)]
pub struct Throttle {
    limiter: RateLimiter,
}

impl Throttle {
    /// Throttles kept in `cache` with the limits of `config`.
    pub fn new(cache: CacheRef, config: &ThrottleConfig) -> Result<Self, AuthError> {
        let specs: BTreeMap<String, PolicySpec> = Action::ALL
            .iter()
            .map(|action| {
                let Limit { requests, per_secs } = action.limit(config);
                let spec = PolicySpec::new(requests, per_secs.saturating_mul(1000))
                    .with_burst(requests)
                    .with_fail_open(false);
                (action.name().to_owned(), spec)
            })
            .collect();
        let policies = Policies::from_specs(&specs)
            .map_err(|e| AuthError::InvalidArgument(format!("services.auth.throttle: {e}")))?;
        Ok(Self {
            limiter: RateLimiter::new(cache, policies, None),
        })
    }

    /// Counts one request for `subject` under `action`; `Throttled` with the
    /// wait when over the limit, `Unavailable` when the cache is down.
    pub async fn hit(&self, action: Action, subject: &str) -> Result<(), AuthError> {
        let decision = self
            .limiter
            .check(action.name(), &subject_key(subject), 1)
            .await
            .map_err(limiter_error)?;
        if decision.allowed {
            return Ok(());
        }
        metrics::counter!(crate::metrics::THROTTLED, "throttle" => action.name()).increment(1);
        tracing::info!(throttle = action.name(), "request throttled");
        Err(AuthError::Throttled {
            retry_after: decision.retry_after.max(Duration::from_secs(1)),
        })
    }

    /// Forgets `subject`'s history under `action` (after a successful login).
    pub async fn clear(&self, action: Action, subject: &str) {
        if let Err(err) = self
            .limiter
            .reset(action.name(), &subject_key(subject))
            .await
        {
            tracing::warn!(error = %err, throttle = action.name(), "cannot clear throttle");
        }
    }
}

/// Identifiers and IPs as limiter keys: bounded and free of control characters.
fn subject_key(subject: &str) -> String {
    if subject.len() <= chatflow_rate_limit::MAX_KEY_BYTES
        && !subject.is_empty()
        && !subject.chars().any(char::is_control)
    {
        return subject.to_owned();
    }
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(subject.as_bytes()))
}

fn limiter_error(err: RateLimitError) -> AuthError {
    match err {
        RateLimitError::Unavailable { source, .. } => AuthError::from(source),
        other => AuthError::Internal(format!("throttle: {other}")),
    }
}
