//! Metric names of this crate, in one place, described once at start-up.
//!
//! All are counters labelled by `topic` (without the test prefix), recorded
//! through the `metrics` facade; the binary chooses the exporter.

/// Records a [`crate::Handler`] finished (successfully or dead-lettered), by `topic` and `outcome`.
pub const RECORDS_HANDLED: &str = "chatflow_events_records_handled_total";
/// Records sent to `<topic>.dlq`, by source `topic`.
pub const RECORDS_DEAD_LETTERED: &str = "chatflow_events_records_dead_lettered_total";
/// Handler attempts repeated after a transient error, by `topic`.
pub const HANDLER_RETRIES: &str = "chatflow_events_handler_retries_total";
/// Offset commits that failed (the record will be delivered again), by `topic`.
pub const COMMIT_FAILURES: &str = "chatflow_events_commit_failures_total";

/// Label carrying the (unprefixed) topic name.
pub const LABEL_TOPIC: &str = "topic";
/// Label carrying how a record ended: `ok` or `dead_lettered`.
pub const LABEL_OUTCOME: &str = "outcome";

/// Registers descriptions for every metric above; call once at start-up.
pub fn describe() {
    metrics::describe_counter!(RECORDS_HANDLED, "Records a consumer handler finished with.");
    metrics::describe_counter!(
        RECORDS_DEAD_LETTERED,
        "Records moved to a dead-letter topic."
    );
    metrics::describe_counter!(HANDLER_RETRIES, "Handler retries after transient errors.");
    metrics::describe_counter!(COMMIT_FAILURES, "Offset commits that failed.");
}
