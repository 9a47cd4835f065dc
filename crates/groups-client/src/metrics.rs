//! Metric names of the groups client (the membership cache).

/// Counter: cache lookups, by `call` (authorize, members) and `outcome`
/// (hit, miss, bypass while the invalidation feed is down).
pub const CACHE_LOOKUPS: &str = "chatflow_groups_cache_lookups_total";
/// Counter: membership events applied as invalidations.
pub const CACHE_INVALIDATIONS: &str = "chatflow_groups_cache_invalidations_total";
/// Counter: times the whole cache was dropped because the feed broke.
pub const CACHE_RESETS: &str = "chatflow_groups_cache_resets_total";

/// Registers descriptions; call once at start-up.
pub fn describe() {
    metrics::describe_counter!(CACHE_LOOKUPS, "membership cache lookups by outcome");
    metrics::describe_counter!(
        CACHE_INVALIDATIONS,
        "membership events applied to the cache"
    );
    metrics::describe_counter!(CACHE_RESETS, "membership cache resets after a broken feed");
}
