//! The results of one run, as a Markdown table (phases side by side) or as
//! JSON, and the verdict: which invariants the run saw broken.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::stats::{Summary, ratio};

/// What one phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// `baseline` or `presence flood`.
    pub name: &'static str,
    /// From the first scheduled send to the last answer, in seconds.
    pub seconds: f64,
    /// Send frames written.
    pub sent: u64,
    /// Of those, acknowledged (stored).
    pub acked: u64,
    /// Sends refused, by error code.
    pub send_errors: BTreeMap<String, u64>,
    /// Sends never answered.
    pub unanswered: u64,
    /// Acked messages × receivers.
    pub expected: u64,
    /// Of those, received at least once.
    pub received: u64,
    /// Of those, never received.
    pub lost: u64,
    /// Receptions beyond the first.
    pub duplicates: u64,
    /// Group seqs that were not last + 1 at some receiver.
    pub out_of_order: u64,
    /// Deliveries of an earlier phase's messages that came during this one.
    pub late: u64,
    /// Send (sender's clock) to reception (receiver's), per delivery.
    pub delivery_ms: Option<Summary>,
    /// Send to ack, per acked message.
    pub ack_ms: Option<Summary>,
    /// Typing/presence frames the flooders sent.
    pub flood_frames: u64,
    /// How long the flood ran, in seconds.
    pub flood_seconds: f64,
    /// `watch` requests the flooders sent.
    pub flood_watches: u64,
    /// Typing frames the receivers got.
    pub typing_received: u64,
    /// Receipt frames the receivers got.
    pub receipts_received: u64,
    /// Presence frames the receivers got, by status.
    pub presence_received: BTreeMap<String, u64>,
    /// `watching` answers the receivers got.
    pub watching_received: u64,
    /// The statuses of the users in those answers, counted.
    pub watched_statuses: BTreeMap<String, u64>,
    /// Other error frames, by `"<role> <request>: <code>"`.
    pub errors: BTreeMap<String, u64>,
    /// Connections that ended during the phase.
    pub closed: Vec<String>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The `chatflow` binary and its build profile.
    pub chatflow: String,
    /// This generator's build profile.
    pub generator_build: &'static str,
    /// The command-line settings.
    pub settings: serde_json::Value,
    /// Accounts, group and connections, in seconds.
    pub setup_seconds: f64,
    /// Baseline, then the presence flood.
    pub phases: Vec<PhaseReport>,
    /// Flood p99 delivery latency over baseline p99.
    pub flood_p99_over_baseline_p99: Option<f64>,
    /// WARN/ERROR lines the fleet logged, and how it exited.
    pub fleet: String,
    /// Broken invariants; empty when the run passed.
    pub failures: Vec<String>,
}

impl RunReport {
    /// The report of `phases`, with the ratio and failures filled in.
    pub fn new(
        chatflow: String,
        settings: serde_json::Value,
        setup_seconds: f64,
        phases: Vec<PhaseReport>,
    ) -> Self {
        let p99 = |name: &str| {
            phases
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.delivery_ms)
                .map(|s| s.p99_ms)
        };
        let mut failures = Vec::new();
        for phase in &phases {
            let mut fail = |what: &str, n: u64| {
                if n > 0 {
                    failures.push(format!("{}: {n} {what}", phase.name));
                }
            };
            fail("lost", phase.lost);
            fail("duplicated", phase.duplicates);
            fail("out of order", phase.out_of_order);
            fail("sends unanswered", phase.unanswered);
            fail("connections closed", phase.closed.len() as u64);
        }
        Self {
            chatflow,
            generator_build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            settings,
            setup_seconds,
            flood_p99_over_baseline_p99: ratio(p99("presence flood"), p99("baseline")),
            phases,
            fleet: String::new(),
            failures,
        }
    }

    /// The report as a Markdown section.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## ChatFlow load run\n");
        let _ = writeln!(out, "- chatflow: {}", self.chatflow);
        let _ = writeln!(out, "- generator: {} build", self.generator_build);
        let _ = writeln!(out, "- settings: `{}`", self.settings);
        let _ = writeln!(out, "- setup: {:.1} s", self.setup_seconds);
        let _ = writeln!(out, "- fleet: {}\n", self.fleet);
        let header: Vec<&str> = self.phases.iter().map(|p| p.name).collect();
        let _ = writeln!(out, "| | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(header.len()));
        for (label, cell) in ROWS {
            let cells: Vec<String> = self.phases.iter().map(cell).collect();
            let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
        }
        let ratio = self
            .flood_p99_over_baseline_p99
            .map_or("–".to_owned(), |r| format!("{r:.2}×"));
        let _ = writeln!(out, "\nflood p99 / baseline p99: **{ratio}**");
        for closed in self.phases.iter().flat_map(|p| &p.closed) {
            let _ = writeln!(out, "- closed: {closed}");
        }
        match self.failures.as_slice() {
            [] => {
                let _ = writeln!(
                    out,
                    "\nverdict: **pass** (nothing lost, duplicated or reordered)"
                );
            }
            failures => {
                let _ = writeln!(out, "\nverdict: **FAIL**: {}", failures.join("; "));
            }
        }
        out
    }
}

/// One row of the table: how a phase's cell is written.
type Cell = fn(&PhaseReport) -> String;

/// The table's rows, top to bottom.
const ROWS: [(&str, Cell); 26] = [
    ("messages sent", |p| p.sent.to_string()),
    ("acked", |p| p.acked.to_string()),
    ("send errors", |p| counts(&p.send_errors)),
    ("unanswered sends", |p| p.unanswered.to_string()),
    ("deliveries expected", |p| p.expected.to_string()),
    ("received", |p| p.received.to_string()),
    ("**lost**", |p| p.lost.to_string()),
    ("duplicates", |p| p.duplicates.to_string()),
    ("out of order", |p| p.out_of_order.to_string()),
    ("late (earlier phase's)", |p| p.late.to_string()),
    ("delivery p50 (ms)", |p| ms(p.delivery_ms, |s| s.p50_ms)),
    ("delivery p95 (ms)", |p| ms(p.delivery_ms, |s| s.p95_ms)),
    ("delivery p99 (ms)", |p| ms(p.delivery_ms, |s| s.p99_ms)),
    ("delivery max (ms)", |p| ms(p.delivery_ms, |s| s.max_ms)),
    ("ack p50 (ms)", |p| ms(p.ack_ms, |s| s.p50_ms)),
    ("ack p99 (ms)", |p| ms(p.ack_ms, |s| s.p99_ms)),
    ("flood frames sent (rate/s)", flood),
    ("flood watches sent", |p| p.flood_watches.to_string()),
    ("receipts received", |p| p.receipts_received.to_string()),
    ("typing received", |p| p.typing_received.to_string()),
    ("presence received", |p| counts(&p.presence_received)),
    ("watching received", |p| p.watching_received.to_string()),
    ("statuses in watching", |p| counts(&p.watched_statuses)),
    ("error frames", |p| counts(&p.errors)),
    ("connections closed", |p| p.closed.len().to_string()),
    ("seconds", |p| format!("{:.1}", p.seconds)),
];

/// One statistic of a summary in milliseconds, or a dash without samples.
fn ms(summary: Option<Summary>, pick: fn(&Summary) -> f64) -> String {
    summary.map_or("–".to_owned(), |s| format!("{:.2}", pick(&s)))
}

/// `code ×n` pairs, or `0`.
fn counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "0".to_owned();
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    parts.join("<br>")
}

/// Flood frames and the rate they went out at.
fn flood(phase: &PhaseReport) -> String {
    if phase.flood_frames == 0 {
        return "0".to_owned();
    }
    let rate = phase.flood_frames as f64 / phase.flood_seconds.max(f64::EPSILON);
    format!("{} ({rate:.0})", phase.flood_frames)
}
