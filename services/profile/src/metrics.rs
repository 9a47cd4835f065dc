//! Metric names of the profile service.

/// Counter: profile and privacy writes, by `what` (`profile`, `privacy`) and
/// outcome (`changed`, `unchanged`, `conflict`).
pub const WRITES: &str = "chatflow_profile_writes_total";
/// Counter: requests refused for bad input, by field.
pub const REJECTED: &str = "chatflow_profile_rejected_total";
/// Counter: discovery hashes looked up, by outcome (`matched`, `unmatched`).
pub const DISCOVERY_HASHES: &str = "chatflow_profile_discovery_hashes_total";
/// Counter: discovery requests refused by the rate limiter.
pub const DISCOVERY_THROTTLED: &str = "chatflow_profile_discovery_throttled_total";
/// Counter: block-list changes, by action (`block`, `unblock`).
pub const BLOCKS: &str = "chatflow_profile_block_changes_total";
/// Counter: `account_verified` events consumed, by outcome (`stored`, `dropped`).
pub const DIRECTORY_EVENTS: &str = "chatflow_profile_directory_events_total";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(WRITES, "profile and privacy writes by outcome");
    metrics::describe_counter!(REJECTED, "requests refused for invalid input, by field");
    metrics::describe_counter!(DISCOVERY_HASHES, "discovery hashes looked up by outcome");
    metrics::describe_counter!(
        DISCOVERY_THROTTLED,
        "discovery requests refused by the rate limit"
    );
    metrics::describe_counter!(BLOCKS, "block-list changes by action");
    metrics::describe_counter!(
        DIRECTORY_EVENTS,
        "account_verified events consumed by outcome"
    );
}

/// Counts a rejected field (bounded label: the field names are ours).
pub fn rejected(field: &str) {
    metrics::counter!(REJECTED, "field" => field.to_owned()).increment(1);
}
