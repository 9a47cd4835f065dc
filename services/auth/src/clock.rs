//! Wall-clock helpers: every stored time is Unix milliseconds, JWT times are seconds.

pub use chatflow_runtime::clock::{now_ms, now_secs};

/// A duration in seconds as milliseconds, saturating.
pub fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
