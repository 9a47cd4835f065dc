//! The benchmark scenarios of issue #11, open-loop and corrected for
//! coordinated omission, run against ChatFlow or the Socket.IO reference
//! peer with the same code: `pairs` (1:1 messages at a fixed rate) and
//! `idle` (connections that only keep alive).

pub mod eio;
pub mod hist;
pub mod idle;
pub mod link;
pub mod pairs;
pub mod peer;
pub mod procstat;
pub mod schedule;
pub mod step;
pub mod table;
pub mod tag;
pub mod target;

use std::fmt::Write;

use anyhow::{Context, Result};
use tokio::time::Instant;

use target::{Kind, Options, Target};

/// Raises this process's open-file limit to at least `wanted` (the hard
/// limit too, when allowed); children such as `chatflow up` and Node inherit it.
pub fn raise_nofile(wanted: u64) -> Result<()> {
    use rlimit::Resource;
    let (soft, hard) = Resource::NOFILE.get().context("reading RLIMIT_NOFILE")?;
    if soft >= wanted {
        return Ok(());
    }
    if hard < wanted && Resource::NOFILE.set(wanted, wanted).is_ok() {
        return Ok(());
    }
    let raised = wanted.min(hard);
    Resource::NOFILE
        .set(raised, hard)
        .context("raising RLIMIT_NOFILE")?;
    if raised < wanted {
        eprintln!("open-file limit is {raised}, below the {wanted} wanted; large runs may fail");
    }
    Ok(())
}

/// The commit and machine a table was measured on.
fn preamble() -> String {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!(
        "- command: `chatflow-load {}`\n- commit: {commit}; generator: {} build\n\n",
        args.join(" "),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

/// The pairs benchmark on each target in turn, as one table (or JSON).
pub async fn run_pairs(
    kinds: &[Kind],
    options: &Options,
    load: &pairs::Load,
    json: bool,
) -> Result<String> {
    let origin = Instant::now();
    let mut all = Vec::new();
    let mut notes = String::new();
    for &kind in kinds {
        let mut target = Target::start(kind, options)
            .await
            .with_context(|| format!("starting {kind:?}"))?;
        let outcome = pairs::run(&mut target, load, origin).await;
        let stopped = target.stop().await;
        let _ = writeln!(notes, "- {kind:?}: {stopped}");
        all.extend(outcome.with_context(|| format!("pairs on {kind:?}"))?);
    }
    if json {
        return Ok(serde_json::to_string_pretty(&all)? + "\n");
    }
    let mut out = preamble();
    let _ = writeln!(out, "{}", table::PAIRS_HEADER);
    for report in &all {
        let _ = writeln!(out, "{}", table::pairs_row(report));
    }
    let _ = write!(out, "\n{notes}");
    Ok(out)
}

/// The idle benchmark on each target in turn, as one table (or JSON).
pub async fn run_idle(
    kinds: &[Kind],
    options: &Options,
    load: &idle::Load,
    json: bool,
) -> Result<String> {
    let mut all = Vec::new();
    let mut notes = String::new();
    for &kind in kinds {
        let mut target = Target::start(kind, options)
            .await
            .with_context(|| format!("starting {kind:?}"))?;
        let outcome = idle::run(&mut target, load).await;
        let stopped = target.stop().await;
        let _ = writeln!(notes, "- {kind:?}: {stopped}");
        all.extend(outcome.with_context(|| format!("idle on {kind:?}"))?);
    }
    if json {
        return Ok(serde_json::to_string_pretty(&all)? + "\n");
    }
    let mut out = preamble();
    let _ = writeln!(out, "{}", table::IDLE_HEADER);
    for report in &all {
        let _ = writeln!(out, "{}", table::idle_row(report));
    }
    let _ = write!(out, "\n{notes}");
    Ok(out)
}
