//! Wall-clock time as the integers ChatFlow stores and sends: Unix
//! milliseconds for records, Unix seconds for JWT claims. Nodes must keep
//! their clocks NTP-synchronised; nothing here is monotonic.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_agree() {
        let (ms, secs) = (now_ms(), now_secs());
        assert!(ms > 1_700_000_000_000, "clock before 2023: {ms}");
        assert!((secs - ms / 1000).abs() <= 1);
    }
}
