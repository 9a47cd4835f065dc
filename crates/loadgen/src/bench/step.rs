//! The bookkeeping of one rate step of the pairs scenario: every arrival is
//! checked against its pair's stream (duplicates, out of order, late), and
//! measured messages go into the latency histogram. Pure: the driver feeds
//! it and turns it into a [`StepReport`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::hist::{Latencies, Percentiles, cpu_per_thousand};
use super::procstat::Sample;
use super::schedule::Schedule;
use super::tag::Tag;

/// One message a receiver got.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// Its tag.
    pub tag: Tag,
    /// When it arrived.
    pub at: Instant,
    /// ChatFlow: its `seq` was not the receiver's last + 1.
    pub seq_gap: bool,
}

/// The running tally of one step.
pub struct StepTally {
    step: u32,
    schedule: Schedule,
    /// The step's start as nanoseconds since the origin.
    start_ns: u64,
    origin: Instant,
    /// Per pair: which `k` arrived, and the highest so far.
    seen: Vec<(Vec<bool>, Option<u64>)>,
    /// Unique arrivals.
    pub delivered: u64,
    duplicates: u64,
    out_of_order: u64,
    seq_gaps: u64,
    late: u64,
    window: (Instant, Instant),
    in_window: u64,
    latencies: Latencies,
}

/// What one rate step measured.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The system driven.
    pub target: String,
    /// Offered messages per second.
    pub rate: f64,
    /// Pairs (connections = 2 × pairs).
    pub pairs: usize,
    /// Messages sent in the whole step (warm-up included).
    pub sent: u64,
    /// Messages due in the measured window (the histogram's expected count).
    pub measured: u64,
    /// Of those, arrived at least once (after the drain).
    pub delivered: u64,
    /// Sent and never arrived.
    pub lost: u64,
    /// Arrivals beyond the first.
    pub duplicates: u64,
    /// Arrivals with a lower index than one already seen from the pair.
    pub out_of_order: u64,
    /// ChatFlow: arrivals whose `seq` was not the last + 1.
    pub seq_gaps: u64,
    /// Arrivals of an earlier step's messages.
    pub late: u64,
    /// Arrivals during the measured window, per second.
    pub delivered_per_sec: f64,
    /// Scheduled-send-to-arrival latency of the window's messages.
    pub latency: Option<Percentiles>,
    /// Server CPU-seconds per 1,000 messages delivered in the window.
    pub server_cpu_per_1k: Option<f64>,
    /// Server CPU over the window, in cores.
    pub server_cores: f64,
    /// Server resident memory at the window's end, in MiB.
    pub server_rss_mib: f64,
    /// The generator's own CPU over the window, in cores.
    pub generator_cores: f64,
    /// Send errors by code (ChatFlow).
    pub send_errors: BTreeMap<String, u64>,
    /// Connections that closed.
    pub closed: u64,
    /// Seconds the drain took.
    pub drain_seconds: f64,
}

impl StepTally {
    /// A tally for step `step` starting at `start`.
    pub fn new(step: u32, schedule: Schedule, origin: Instant, start: Instant) -> Self {
        let start_ns = u64::try_from(start.duration_since(origin).as_nanos()).unwrap_or(u64::MAX);
        Self {
            step,
            schedule,
            start_ns,
            origin,
            seen: (0..schedule.pairs)
                .map(|p| (vec![false; schedule.count(p) as usize], None))
                .collect(),
            delivered: 0,
            duplicates: 0,
            out_of_order: 0,
            seq_gaps: 0,
            late: 0,
            window: (start + schedule.warmup, start + schedule.end()),
            in_window: 0,
            latencies: Latencies::new(),
        }
    }

    /// Records one arrival.
    pub fn record(&mut self, arrival: Arrival) {
        let Arrival { tag, at, seq_gap } = arrival;
        if seq_gap {
            self.seq_gaps += 1;
        }
        if at >= self.window.0 && at < self.window.1 {
            self.in_window += 1;
        }
        if tag.step != self.step {
            self.late += 1;
            return;
        }
        let Some((seen, highest)) = self.seen.get_mut(tag.pair as usize) else {
            return;
        };
        let Some(slot) = seen.get_mut(tag.k as usize) else {
            return;
        };
        if *slot {
            self.duplicates += 1;
            return;
        }
        *slot = true;
        self.delivered += 1;
        if highest.is_some_and(|h| tag.k < h) {
            self.out_of_order += 1;
        }
        *highest = Some(highest.map_or(tag.k, |h| h.max(tag.k)));
        let due_offset = Duration::from_nanos(tag.due_ns.saturating_sub(self.start_ns));
        if self.schedule.measured(due_offset) {
            let due = self.origin + Duration::from_nanos(tag.due_ns);
            self.latencies.record(at.saturating_duration_since(due));
        }
    }

    /// The report, given what was sent and the samples around the window.
    pub fn report(&self, target: &str, sent: u64, cost: Cost) -> StepReport {
        let window = self.schedule.window.as_secs_f64();
        let server = cost.server_end - cost.server_start;
        let generator = cost.generator_end - cost.generator_start;
        StepReport {
            target: target.to_owned(),
            rate: self.schedule.rate,
            pairs: self.schedule.pairs,
            sent,
            measured: self.schedule.measured_total(),
            delivered: self.delivered,
            lost: sent.saturating_sub(self.delivered),
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            seq_gaps: self.seq_gaps,
            late: self.late,
            delivered_per_sec: self.in_window as f64 / window,
            latency: self.latencies.percentiles(),
            server_cpu_per_1k: cpu_per_thousand(server.cpu_seconds, self.in_window),
            server_cores: server.cpu_seconds / window,
            server_rss_mib: cost.server_end.rss_bytes as f64 / (1024.0 * 1024.0),
            generator_cores: generator.cpu_seconds / window,
            send_errors: BTreeMap::new(),
            closed: 0,
            drain_seconds: 0.0,
        }
    }
}

/// CPU and memory samples at the window's start and end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    /// Server at the window's start.
    pub server_start: Sample,
    /// Server at the window's end.
    pub server_end: Sample,
    /// Generator at the window's start.
    pub generator_start: Sample,
    /// Generator at the window's end.
    pub generator_end: Sample,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally() -> (StepTally, Instant) {
        let origin = Instant::now();
        let start = origin + Duration::from_secs(1);
        let schedule = Schedule {
            rate: 10.0,
            pairs: 2,
            warmup: Duration::from_secs(1),
            window: Duration::from_secs(1),
        };
        (StepTally::new(3, schedule, origin, start), start)
    }

    fn arrival(step: u32, pair: u32, k: u64, due_ms: u64, at: Instant) -> Arrival {
        Arrival {
            tag: Tag {
                due_ns: due_ms * 1_000_000,
                step,
                pair,
                k,
            },
            at,
            seq_gap: false,
        }
    }

    #[test]
    fn arrivals_are_checked_and_timed_from_their_due_time() {
        let (mut t, start) = tally();
        // Pair 0 sends k at 1000 + 200k ms since origin: k = 5..10 are measured.
        let at = |ms: u64| start + Duration::from_millis(ms);
        t.record(arrival(3, 0, 0, 1000, at(5)));
        t.record(arrival(3, 0, 5, 2000, at(1030)));
        t.record(arrival(3, 0, 5, 2000, at(1031)));
        t.record(arrival(3, 0, 4, 1800, at(1040)));
        t.record(arrival(2, 0, 1, 0, at(1050)));
        t.record(arrival(3, 1, 7, 2500, at(1600)));
        t.record(arrival(3, 9, 0, 0, at(1600)));
        assert_eq!(t.delivered, 4);
        let report = t.report("x", 20, Cost::default());
        assert_eq!(
            (report.duplicates, report.out_of_order, report.late),
            (1, 1, 1)
        );
        assert_eq!(report.lost, 16);
        let latency = report.latency.expect("measured");
        // Measured: k=5 of pair 0 (30 ms late) and k=7 of pair 1 (100 ms).
        assert_eq!(latency.count, 2);
        assert!((latency.p50_ms - 30.0).abs() < 0.1, "{latency:?}");
        assert!((latency.max_ms - 100.0).abs() < 0.1, "{latency:?}");
        // Every arrival but the first (5 ms) came in the 1 s window.
        assert!((report.delivered_per_sec - 6.0).abs() < 1e-9);
    }

    #[test]
    fn cost_is_per_thousand_window_arrivals() {
        let (mut t, start) = tally();
        for k in 5..10 {
            t.record(arrival(
                3,
                0,
                k,
                2000 + 200 * (k - 5),
                start + Duration::from_millis(1100),
            ));
        }
        let cost = Cost {
            server_end: Sample {
                cpu_seconds: 0.5,
                rss_bytes: 3 << 20,
            },
            ..Cost::default()
        };
        let report = t.report("x", 5, cost);
        assert_eq!(report.server_cpu_per_1k, Some(100.0));
        assert!((report.server_cores - 0.5).abs() < 1e-9);
        assert!((report.server_rss_mib - 3.0).abs() < 1e-9);
    }
}
