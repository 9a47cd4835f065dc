//! The gateway's metrics: connections, frames, queues, replays, auth failures.

/// Open WebSocket connections on this node.
pub const CONNECTIONS: &str = "chatflow_gateway_connections";
/// Frames received, by `type` (or `invalid`).
pub const FRAMES_IN: &str = "chatflow_gateway_frames_in_total";
/// Frames sent.
pub const FRAMES_OUT: &str = "chatflow_gateway_frames_out_total";
/// Reliable frames waiting in send queues (sampled per write).
pub const SEND_QUEUE_DEPTH: &str = "chatflow_gateway_send_queue_depth";
/// Ephemeral frames dropped because a queue was full or messages came first.
pub const EPHEMERAL_DROPPED: &str = "chatflow_gateway_ephemeral_dropped_total";
/// Connections closed because the client read too slowly.
pub const SLOW_CONSUMERS: &str = "chatflow_gateway_slow_consumers_total";
/// Conversations replayed on `hello`/`resume`.
pub const RESUME_REPLAYS: &str = "chatflow_gateway_resume_replays_total";
/// Gaps in live traffic filled from the store.
pub const GAPS_FILLED: &str = "chatflow_gateway_gaps_filled_total";
/// Live duplicates dropped at the replay seam.
pub const DUPLICATES_DROPPED: &str = "chatflow_gateway_duplicates_dropped_total";
/// Messages delivered to clients.
pub const DELIVERED: &str = "chatflow_gateway_messages_delivered_total";
/// Connections refused or closed for authentication, by reason.
pub const AUTH_FAILURES: &str = "chatflow_gateway_auth_failures_total";
/// Messages fanned out, by lane and outcome.
pub const FANOUT: &str = "chatflow_gateway_fanout_total";

/// Delivery acks sent on to the receipts service.
pub const ACKS_FLUSHED: &str = "chatflow_gateway_acks_flushed_total";
/// Delivery acks dropped (node behind, or the receipts service failed).
pub const ACKS_DROPPED: &str = "chatflow_gateway_acks_dropped_total";
/// Typing indicators relayed to other members' nodes.
pub const TYPING_RELAYED: &str = "chatflow_gateway_typing_relayed_total";
/// Typing indicators dropped by the per-connection start rate.
pub const TYPING_THROTTLED: &str = "chatflow_gateway_typing_throttled_total";
/// Receipt changes fanned out.
pub const RECEIPTS_FANNED_OUT: &str = "chatflow_gateway_receipts_fanned_out_total";

/// Registers descriptions with the recorder.
pub fn describe() {
    metrics::describe_gauge!(CONNECTIONS, "open WebSocket connections on this node");
    metrics::describe_counter!(FRAMES_IN, "frames received, by type");
    metrics::describe_counter!(FRAMES_OUT, "frames sent");
    metrics::describe_histogram!(
        SEND_QUEUE_DEPTH,
        "reliable frames queued when one is written"
    );
    metrics::describe_counter!(EPHEMERAL_DROPPED, "ephemeral frames dropped");
    metrics::describe_counter!(SLOW_CONSUMERS, "connections closed as slow consumers");
    metrics::describe_counter!(RESUME_REPLAYS, "conversations replayed on resume");
    metrics::describe_counter!(GAPS_FILLED, "gaps in live traffic filled from the store");
    metrics::describe_counter!(DUPLICATES_DROPPED, "live duplicates dropped");
    metrics::describe_counter!(DELIVERED, "messages delivered to clients");
    metrics::describe_counter!(AUTH_FAILURES, "authentication failures, by reason");
    metrics::describe_counter!(FANOUT, "messages fanned out, by lane and outcome");
    metrics::describe_counter!(ACKS_FLUSHED, "delivery acks sent to the receipts service");
    metrics::describe_counter!(ACKS_DROPPED, "delivery acks dropped");
    metrics::describe_counter!(TYPING_RELAYED, "typing indicators relayed");
    metrics::describe_counter!(TYPING_THROTTLED, "typing indicators dropped by rate");
    metrics::describe_counter!(RECEIPTS_FANNED_OUT, "receipt changes fanned out");
}

pub(crate) fn resume_replay() {
    metrics::counter!(RESUME_REPLAYS).increment(1);
}

pub(crate) fn gap_filled() {
    metrics::counter!(GAPS_FILLED).increment(1);
}

pub(crate) fn duplicate_dropped() {
    metrics::counter!(DUPLICATES_DROPPED).increment(1);
}

pub(crate) fn delivered() {
    metrics::counter!(DELIVERED).increment(1);
}

pub(crate) fn auth_failure(reason: &'static str) {
    metrics::counter!(AUTH_FAILURES, "reason" => reason).increment(1);
}
