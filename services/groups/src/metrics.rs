//! Metric names of the groups service.

/// Counter: membership and settings changes committed, by `kind`.
pub const CHANGES: &str = "chatflow_groups_changes_total";
/// Counter: authorization answers, by `action` and `outcome` (allowed or the deny reason).
pub const AUTHORIZATIONS: &str = "chatflow_groups_authorizations_total";
/// Counter: invite-link joins, by `outcome` (joined, already_member, expired, revoked...).
pub const INVITE_JOINS: &str = "chatflow_groups_invite_joins_total";
/// Counter: REST requests refused as bad input, by `reason`.
pub const REJECTED: &str = "chatflow_groups_rejected_requests_total";
/// Counter: block events consumed from the profile service, by `outcome`.
pub const BLOCK_EVENTS: &str = "chatflow_groups_block_events_total";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(CHANGES, "membership and settings changes committed");
    metrics::describe_counter!(
        AUTHORIZATIONS,
        "authorization answers by action and outcome"
    );
    metrics::describe_counter!(INVITE_JOINS, "invite link joins by outcome");
    metrics::describe_counter!(REJECTED, "REST requests refused as bad input");
    metrics::describe_counter!(BLOCK_EVENTS, "block events consumed by outcome");
}

/// Counts one refused request.
pub fn rejected(reason: &'static str) {
    metrics::counter!(REJECTED, "reason" => reason).increment(1);
}
