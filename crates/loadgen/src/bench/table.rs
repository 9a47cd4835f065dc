//! Markdown tables of the benchmark scenarios: one row per rate (pairs) or
//! per connection count (idle), targets side by side in one table.

use std::fmt::Write;

use super::idle::IdleReport;
use super::step::StepReport;

/// The header of the pairs table.
pub const PAIRS_HEADER: &str = "| target | offered msg/s | delivered msg/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | sent | lost | dup | out of order | server CPU-s / 1k msgs | server cores | server RSS MiB | generator cores | send errors | closed | drain s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|";

/// The header of the idle table.
pub const IDLE_HEADER: &str = "| target | connections | server RSS before MiB | after MiB | KiB / connection | server CPU % of a core per 10k conns | generator CPU % | connect s | closed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|";

/// One row of the pairs table.
pub fn pairs_row(r: &StepReport) -> String {
    let ms = |pick: fn(&super::hist::Percentiles) -> f64| {
        r.latency
            .as_ref()
            .map_or("–".to_owned(), |p| format!("{:.2}", pick(p)))
    };
    let errors = if r.send_errors.is_empty() {
        "0".to_owned()
    } else {
        let parts: Vec<String> = r
            .send_errors
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        parts.join(", ")
    };
    let mut row = String::new();
    let _ = write!(
        row,
        "| {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.0} | {:.2} | {} | {} | {:.1} |",
        r.target,
        r.rate,
        r.delivered_per_sec,
        ms(|p| p.p50_ms),
        ms(|p| p.p90_ms),
        ms(|p| p.p99_ms),
        ms(|p| p.p999_ms),
        ms(|p| p.max_ms),
        r.sent,
        r.lost,
        r.duplicates,
        r.out_of_order + r.seq_gaps,
        r.server_cpu_per_1k
            .map_or("–".to_owned(), |c| format!("{c:.3}")),
        r.server_cores,
        r.server_rss_mib,
        r.generator_cores,
        errors,
        r.closed,
        r.drain_seconds,
    );
    row
}

/// One row of the idle table.
pub fn idle_row(r: &IdleReport) -> String {
    format!(
        "| {} | {} | {:.0} | {:.0} | {:.1} | {:.2} | {:.1} | {:.1} | {} |",
        r.target,
        r.connections,
        r.rss_before_mib,
        r.rss_after_mib,
        r.kib_per_connection,
        r.cpu_percent_per_10k,
        r.generator_percent,
        r.connect_seconds,
        r.closed,
    )
}
