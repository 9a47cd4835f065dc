//! The open-loop schedule: a fixed total rate spread evenly over the
//! pairs, so message `k` of pair `p` is due at `(p + k·pairs) / rate`
//! seconds after the start, whatever happened to the messages before it.
//! Latency is measured from that due time (not from when the frame was
//! actually written), which corrects for coordinated omission: a stalled
//! sender or server shows as latency instead of as fewer samples.

use std::time::Duration;

/// The schedule of one rate step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Messages per second, all pairs together.
    pub rate: f64,
    /// How many pairs share the rate.
    pub pairs: usize,
    /// Unmeasured sending before the window.
    pub warmup: Duration,
    /// Measured sending.
    pub window: Duration,
}

impl Schedule {
    /// When message `k` of pair `p` is due, from the step's start.
    pub fn due(&self, pair: usize, k: u64) -> Duration {
        let slot = pair as f64 + k as f64 * self.pairs as f64;
        Duration::from_secs_f64(slot / self.rate)
    }

    /// Everything is due before this, from the step's start.
    pub fn end(&self) -> Duration {
        self.warmup + self.window
    }

    /// How many messages pair `p` sends in the whole step.
    pub fn count(&self, pair: usize) -> u64 {
        self.first_at_or_after(pair, self.end())
    }

    /// Whether a message due at `due` falls in the measured window.
    pub fn measured(&self, due: Duration) -> bool {
        due >= self.warmup && due < self.end()
    }

    /// Messages (all pairs) due in the measured window.
    pub fn measured_total(&self) -> u64 {
        (0..self.pairs)
            .map(|p| self.first_at_or_after(p, self.end()) - self.first_at_or_after(p, self.warmup))
            .sum()
    }

    /// The smallest `k` of pair `p` due at or after `at`.
    fn first_at_or_after(&self, pair: usize, at: Duration) -> u64 {
        // Slot of message k is pair + k·pairs; want slot/rate >= at.
        let slots = at.as_secs_f64() * self.rate - pair as f64;
        if slots <= 0.0 {
            return 0;
        }
        let mut k = (slots / self.pairs as f64).ceil() as u64;
        // Float rounding near the boundary: settle on the exact answer.
        while k > 0 && self.due(pair, k - 1) >= at {
            k -= 1;
        }
        while self.due(pair, k) < at {
            k += 1;
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(rate: f64, pairs: usize, warmup: f64, window: f64) -> Schedule {
        Schedule {
            rate,
            pairs,
            warmup: Duration::from_secs_f64(warmup),
            window: Duration::from_secs_f64(window),
        }
    }

    #[test]
    fn pairs_interleave_at_the_total_rate() {
        let s = schedule(1000.0, 4, 0.0, 1.0);
        assert_eq!(s.due(0, 0), Duration::ZERO);
        assert_eq!(s.due(1, 0), Duration::from_millis(1));
        assert_eq!(s.due(3, 0), Duration::from_millis(3));
        assert_eq!(s.due(0, 1), Duration::from_millis(4));
        assert_eq!(s.due(2, 5), Duration::from_millis(22));
    }

    #[test]
    fn counts_add_up_to_rate_times_duration() {
        let s = schedule(1000.0, 500, 2.0, 20.0);
        let total: u64 = (0..500).map(|p| s.count(p)).sum();
        assert_eq!(total, 22_000);
        assert_eq!(s.measured_total(), 20_000);
        // A rate that does not divide evenly still sends each due slot once.
        let odd = schedule(333.0, 7, 1.0, 3.0);
        let total: u64 = (0..7).map(|p| odd.count(p)).sum();
        assert_eq!(total, 1332);
        assert_eq!(odd.measured_total(), 999);
    }

    #[test]
    fn the_window_excludes_warmup_and_the_end() {
        let s = schedule(10.0, 1, 1.0, 2.0);
        assert!(!s.measured(Duration::from_millis(999)));
        assert!(s.measured(Duration::from_secs(1)));
        assert!(s.measured(Duration::from_millis(2999)));
        assert!(!s.measured(Duration::from_secs(3)));
        assert_eq!(s.count(0), 30);
    }

    #[test]
    fn every_counted_message_is_due_before_the_end() {
        let s = schedule(3000.0, 500, 2.0, 20.0);
        for p in [0, 1, 250, 499] {
            let n = s.count(p);
            assert!(s.due(p, n - 1) < s.end());
            assert!(s.due(p, n) >= s.end());
        }
    }
}
