//! Metric names of the outbox relay.

/// Counter: events published by the relay, by topic.
pub const PUBLISHED: &str = "chatflow_outbox_published_total";
/// Counter: relay attempts that failed and will be retried.
pub const PUBLISH_FAILURES: &str = "chatflow_outbox_publish_failures_total";
/// Gauge: rows waiting in the outbox after the last relay pass.
pub const PENDING: &str = "chatflow_outbox_pending";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(PUBLISHED, "events published from the outbox");
    metrics::describe_counter!(PUBLISH_FAILURES, "outbox publish attempts that failed");
    metrics::describe_gauge!(PENDING, "outbox rows not yet published");
}
