//! Metric names of the config service.

/// Counter: flag changes committed, by action (create, update, delete).
pub const FLAG_CHANGES: &str = "chatflow_config_flag_changes_total";
/// Counter: gRPC evaluations, by outcome.
pub const EVALUATIONS: &str = "chatflow_config_evaluations_total";
/// Gauge: open Watch streams.
pub const WATCHERS: &str = "chatflow_config_watchers";
/// Counter: admin requests rejected for a missing or wrong token.
pub const AUTH_FAILURES: &str = "chatflow_config_auth_failures_total";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(FLAG_CHANGES, "flag changes committed");
    metrics::describe_counter!(EVALUATIONS, "flag evaluations served over gRPC");
    metrics::describe_gauge!(WATCHERS, "open Watch streams");
    metrics::describe_counter!(
        AUTH_FAILURES,
        "admin requests with a missing or wrong token"
    );
}
