//! Latency histograms (HdrHistogram, microsecond resolution, three
//! significant digits) and the per-1,000-messages arithmetic of reports.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency recorded exactly; longer ones are clamped to it.
const HIGHEST_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        // 1 µs to an hour at 3 significant digits: constant, valid bounds.
        Self(Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds"))
    }

    /// Records one latency (clamped to 1 µs … 1 h).
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us.clamp(1, HIGHEST_US));
    }

    /// The percentiles, or `None` without samples.
    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |q: f64| ms(self.0.value_at_quantile(q));
        Some(Percentiles {
            count: self.0.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: ms(self.0.max()),
        })
    }
}

/// CPU-seconds spent per 1,000 messages, or `None` when none were handled.
pub fn cpu_per_thousand(cpu_seconds: f64, messages: u64) -> Option<f64> {
    (messages > 0).then(|| cpu_seconds * 1000.0 / messages as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut h = Latencies::new();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let p = h.percentiles().expect("samples");
        assert_eq!(p.count, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(p.p50_ms, 500.0), "{p:?}");
        assert!(close(p.p90_ms, 900.0), "{p:?}");
        assert!(close(p.p99_ms, 990.0), "{p:?}");
        assert!(close(p.p999_ms, 999.0), "{p:?}");
        assert!(close(p.max_ms, 1000.0), "{p:?}");
    }

    #[test]
    fn empty_histograms_have_no_percentiles_and_outliers_clamp() {
        let mut a = Latencies::new();
        assert_eq!(a.percentiles(), None);
        a.record(Duration::from_micros(250));
        a.record(Duration::ZERO);
        a.record(Duration::from_secs(7200));
        let p = a.percentiles().expect("samples");
        assert_eq!(p.count, 3);
        assert!(p.max_ms >= 3_599_000.0, "{p:?}");
    }

    #[test]
    fn cpu_is_scaled_to_a_thousand_messages() {
        assert_eq!(cpu_per_thousand(2.0, 4000), Some(0.5));
        assert_eq!(cpu_per_thousand(1.0, 0), None);
    }
}
