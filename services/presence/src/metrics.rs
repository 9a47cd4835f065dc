//! Metric names of presence replicas and the presence service.
//!
//! Every replica also keeps the same counts for itself ([`crate::NodeStats`]),
//! so tests and the gateway can read them without a metrics recorder.

/// Counter: delta batches published to the channel.
pub const DELTAS_PUBLISHED: &str = "chatflow_presence_deltas_published_total";
/// Counter: delta batches received from other nodes and merged.
pub const DELTAS_RECEIVED: &str = "chatflow_presence_deltas_received_total";
/// Counter: other nodes' snapshots read and merged (anti-entropy).
pub const SNAPSHOT_MERGES: &str = "chatflow_presence_snapshot_merges_total";
/// Counter: snapshots this node wrote.
pub const SNAPSHOT_WRITES: &str = "chatflow_presence_snapshot_writes_total";
/// Counter: payloads from the cache refused, by `source` (delta, snapshot,
/// manifest, last_seen) and `reason` (too_large, malformed, version, invalid).
pub const DECODE_FAILURES: &str = "chatflow_presence_decode_failures_total";
/// Counter: watch updates dropped because the watcher's buffer was full.
pub const WATCH_DROPPED: &str = "chatflow_presence_watch_updates_dropped_total";
/// Counter: watch updates delivered.
pub const WATCH_SENT: &str = "chatflow_presence_watch_updates_sent_total";
/// Counter: replication failures (publish, snapshot, subscribe), by `op`.
pub const REPLICATION_ERRORS: &str = "chatflow_presence_replication_errors_total";
/// Counter: visibility questions to the profile service, by `outcome`.
pub const VISIBILITY_CALLS: &str = "chatflow_presence_visibility_calls_total";
/// Counter: profile events that invalidated cached visibility.
pub const VISIBILITY_INVALIDATIONS: &str = "chatflow_presence_visibility_invalidations_total";
/// Gauge: devices connected to this node.
pub const LOCAL_DEVICES: &str = "chatflow_presence_local_devices";
/// Gauge: device entries in this replica's state.
pub const STATE_ENTRIES: &str = "chatflow_presence_state_entries";
/// Gauge: live watches on this node.
pub const WATCHES: &str = "chatflow_presence_watches";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(DELTAS_PUBLISHED, "delta batches published");
    metrics::describe_counter!(DELTAS_RECEIVED, "delta batches received from other nodes");
    metrics::describe_counter!(SNAPSHOT_MERGES, "other nodes' snapshots merged");
    metrics::describe_counter!(SNAPSHOT_WRITES, "snapshots written by this node");
    metrics::describe_counter!(DECODE_FAILURES, "replication payloads refused");
    metrics::describe_counter!(WATCH_DROPPED, "watch updates dropped (buffer full)");
    metrics::describe_counter!(WATCH_SENT, "watch updates delivered");
    metrics::describe_counter!(REPLICATION_ERRORS, "replication failures by op");
    metrics::describe_counter!(VISIBILITY_CALLS, "questions to the profile service");
    metrics::describe_counter!(
        VISIBILITY_INVALIDATIONS,
        "visibility answers dropped on profile events"
    );
    metrics::describe_gauge!(LOCAL_DEVICES, "devices connected to this node");
    metrics::describe_gauge!(STATE_ENTRIES, "device entries in this replica");
    metrics::describe_gauge!(WATCHES, "live watches on this node");
}
