//! Metric names of the receipts service.

/// Counter: mark requests per mark, by `mark` (delivered, read) and `outcome`
/// (advanced, unchanged, denied, invalid, error).
pub const MARKS: &str = "chatflow_receipts_marks_total";
/// Counter: mark writes that lost a race with another writer and were retried.
pub const WRITE_CONFLICTS: &str = "chatflow_receipts_write_conflicts_total";
/// Counter: message events read from the router, by `outcome` (counted,
/// head, auto_read, duplicate, late, ignored).
pub const MESSAGES: &str = "chatflow_receipts_messages_total";
/// Counter: membership events applied, by `change` (added, removed).
pub const MEMBERSHIP: &str = "chatflow_receipts_membership_total";
/// Histogram: conversations summed for one user's total unread.
pub const TOTAL_FANOUT: &str = "chatflow_receipts_total_unread_conversations";
/// Counter: REST requests refused, by `reason`.
pub const REST_REJECTED: &str = "chatflow_receipts_rest_rejected_total";
/// Counter: events published by the relay, by `topic`.
pub const RELAY_PUBLISHED: &str = "chatflow_receipts_relay_published_total";
/// Counter: relay passes that failed (publish or store).
pub const RELAY_FAILURES: &str = "chatflow_receipts_relay_failures_total";
/// Gauge: age in seconds of the oldest event the relay published in its last pass.
pub const RELAY_LAG_SECONDS: &str = "chatflow_receipts_relay_lag_seconds";
/// Gauge: outbox shards whose lease this instance holds.
pub const RELAY_SHARDS_HELD: &str = "chatflow_receipts_relay_shards_held";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(MARKS, "mark requests per mark, by mark and outcome");
    metrics::describe_counter!(WRITE_CONFLICTS, "mark writes retried after losing a race");
    metrics::describe_counter!(MESSAGES, "message events read, by outcome");
    metrics::describe_counter!(MEMBERSHIP, "membership changes applied to marks");
    metrics::describe_histogram!(TOTAL_FANOUT, "conversations summed for one total unread");
    metrics::describe_counter!(REST_REJECTED, "REST requests refused, by reason");
    metrics::describe_counter!(RELAY_PUBLISHED, "receipt events published, by topic");
    metrics::describe_counter!(RELAY_FAILURES, "outbox relay passes that failed");
    metrics::describe_gauge!(
        RELAY_LAG_SECONDS,
        "age of the oldest event published in the last relay pass"
    );
    metrics::describe_gauge!(RELAY_SHARDS_HELD, "outbox shards leased by this instance");
}

/// Counts one mark request's outcome.
pub fn mark(mark: &'static str, outcome: &'static str) {
    metrics::counter!(MARKS, "mark" => mark, "outcome" => outcome).increment(1);
}

/// Counts one message event's outcome.
pub fn message(outcome: &'static str) {
    metrics::counter!(MESSAGES, "outcome" => outcome).increment(1);
}
