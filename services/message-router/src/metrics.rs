//! Metric names of the message router.

/// Counter: writes answered, by `op` (send, edit, delete, react, system) and `outcome`.
pub const WRITES: &str = "chatflow_router_writes_total";
/// Histogram: seconds from accepting a write to its ack, by `op`.
pub const WRITE_SECONDS: &str = "chatflow_router_write_seconds";
/// Counter: transactions that lost the race for the next seq (another writer moved the head).
pub const SEQ_CONFLICTS: &str = "chatflow_router_seq_conflicts_total";
/// Counter: write attempts after the first, for any reason.
pub const WRITE_RETRIES: &str = "chatflow_router_write_retries_total";
/// Gauge: queued writes per `lane`.
pub const LANE_DEPTH: &str = "chatflow_router_lane_depth";
/// Counter: writes refused because their `lane` was full.
pub const LANE_REJECTIONS: &str = "chatflow_router_lane_rejections_total";
/// Histogram: seconds a write waited in its `lane` before a worker took it.
pub const LANE_WAIT_SECONDS: &str = "chatflow_router_lane_wait_seconds";
/// Counter: history reads, by `outcome`.
pub const HISTORY_READS: &str = "chatflow_router_history_reads_total";
/// Counter: events published by the relay, by `topic`.
pub const RELAY_PUBLISHED: &str = "chatflow_router_relay_published_total";
/// Counter: relay passes that failed (publish or store).
pub const RELAY_FAILURES: &str = "chatflow_router_relay_failures_total";
/// Gauge: age in seconds of the oldest event the relay published in its last pass.
pub const RELAY_LAG_SECONDS: &str = "chatflow_router_relay_lag_seconds";
/// Gauge: outbox shards whose lease this instance holds.
pub const RELAY_SHARDS_HELD: &str = "chatflow_router_relay_shards_held";
/// Counter: membership calls that failed or timed out, by `reason`.
pub const MEMBERSHIP_FAILURES: &str = "chatflow_router_membership_failures_total";
/// Gauge: membership breaker state (0 closed, 1 open, 2 half-open).
pub const BREAKER_STATE: &str = "chatflow_router_membership_breaker_state";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(WRITES, "writes answered, by op and outcome");
    metrics::describe_histogram!(WRITE_SECONDS, "seconds from accepting a write to its ack");
    metrics::describe_counter!(
        SEQ_CONFLICTS,
        "writes that lost the race for a conversation's next seq"
    );
    metrics::describe_counter!(WRITE_RETRIES, "write attempts after the first");
    metrics::describe_gauge!(LANE_DEPTH, "queued writes per lane");
    metrics::describe_counter!(
        LANE_REJECTIONS,
        "writes refused because their lane was full"
    );
    metrics::describe_histogram!(LANE_WAIT_SECONDS, "seconds a write waited in its lane");
    metrics::describe_counter!(HISTORY_READS, "history reads, by outcome");
    metrics::describe_counter!(RELAY_PUBLISHED, "message events published, by topic");
    metrics::describe_counter!(RELAY_FAILURES, "outbox relay passes that failed");
    metrics::describe_gauge!(
        RELAY_LAG_SECONDS,
        "age of the oldest event published in the last relay pass"
    );
    metrics::describe_gauge!(RELAY_SHARDS_HELD, "outbox shards leased by this instance");
    metrics::describe_counter!(
        MEMBERSHIP_FAILURES,
        "membership calls that failed or timed out"
    );
    metrics::describe_gauge!(
        BREAKER_STATE,
        "membership breaker: 0 closed, 1 open, 2 half-open"
    );
}
