//! Latency summaries: percentiles by nearest rank over the sorted samples
//! (the workspace has no histogram crate; a run holds at most a few hundred
//! thousand samples, so sorting them is cheap and exact).

use std::time::Duration;

use serde::Serialize;

/// Percentiles of one set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Summary {
    /// Summarizes `samples` (nanoseconds); `None` when there are none.
    pub fn of(mut samples: Vec<u64>) -> Option<Self> {
        samples.sort_unstable();
        let ms = |ns: u64| Duration::from_nanos(ns).as_secs_f64() * 1000.0;
        Some(Self {
            count: samples.len(),
            p50_ms: ms(percentile(&samples, 50.0)?),
            p95_ms: ms(percentile(&samples, 95.0)?),
            p99_ms: ms(percentile(&samples, 99.0)?),
            max_ms: ms(*samples.last()?),
        })
    }
}

/// The `p`-th percentile (0 < p ≤ 100) of `sorted` by nearest rank: the
/// smallest sample with at least `p` % of the samples at or below it.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// `numerator / denominator`, when both exist and the denominator is not 0.
pub fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50));
        assert_eq!(percentile(&hundred, 95.0), Some(95));
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        assert_eq!(percentile(&hundred, 0.1), Some(1));
        // Few samples: p99 is the largest, p50 the lower middle.
        assert_eq!(percentile(&[10, 20, 30, 40], 99.0), Some(40));
        assert_eq!(percentile(&[10, 20, 30, 40], 50.0), Some(20));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summaries_sort_and_convert_to_milliseconds() {
        let samples = vec![3_000_000, 1_000_000, 2_000_000, 250_000_000];
        let summary = Summary::of(samples).map(|s| (s.count, s.p50_ms, s.p99_ms, s.max_ms));
        assert_eq!(summary, Some((4, 2.0, 250.0, 250.0)));
        assert_eq!(Summary::of(Vec::new()), None);
    }

    #[test]
    fn ratios_need_both_sides() {
        assert_eq!(ratio(Some(3.0), Some(1.5)), Some(2.0));
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
    }
}
