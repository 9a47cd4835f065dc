//! Metric names of the rate-limit service and of every limiter it links into.

/// Counter: checks by `action` and `outcome` (`allowed`, `limited`,
/// `fail_open`, `fail_closed`, `invalid`); unknown actions count as `unknown`.
pub const CHECKS: &str = "chatflow_ratelimit_checks_total";
/// Histogram: seconds one check took (one cache script call), by `action`.
pub const CHECK_SECONDS: &str = "chatflow_ratelimit_check_seconds";
/// Counter: versions of the `ratelimit.policies` flag ignored as invalid.
pub const FLAG_REJECTED: &str = "chatflow_ratelimit_flag_rejected_total";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(CHECKS, "rate-limit checks by action and outcome");
    metrics::describe_histogram!(
        CHECK_SECONDS,
        metrics::Unit::Seconds,
        "time one rate-limit check took"
    );
    metrics::describe_counter!(
        FLAG_REJECTED,
        "invalid ratelimit.policies flag versions ignored"
    );
}
