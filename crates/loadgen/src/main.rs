//! `chatflow-load`: a load generator for the whole fleet.
//!
//! It starts `chatflow up` on free ports in a fresh data directory, creates
//! accounts and one group, connects every simulated device over WebSocket,
//! warms the fleet up, and runs the same message load twice — alone
//! ("baseline") and under a typing/presence flood — measuring delivery and ack latency and checking
//! that nothing is lost, duplicated or reordered. It prints a Markdown table
//! (or JSON), stops the fleet with SIGTERM, and exits 1 when an invariant
//! broke (2 when the run itself failed).

mod banner;
mod clients;
mod conn;
mod fleet;
mod report;
mod run;
mod setup;
mod stats;
mod tally;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde::Serialize;
use tokio::time::Instant;

use crate::fleet::Fleet;
use crate::report::RunReport;
use crate::run::Load;

/// Drives a group chat on a fresh `chatflow up` with and without a
/// presence/typing flood, and reports delivery latency and losses.
#[derive(Debug, Parser, Serialize)]
#[command(name = "chatflow-load", version, about)]
struct Args {
    /// The `chatflow` binary (default: the one next to this executable).
    #[arg(long)]
    chatflow: Option<PathBuf>,
    /// Sending devices.
    #[arg(long, default_value_t = 4)]
    senders: usize,
    /// Receiving devices (each measures every message).
    #[arg(long, default_value_t = 8)]
    receivers: usize,
    /// Messages per second, all senders together.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Seconds of sending in each phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of sending before the baseline (reported, not compared).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Devices flooding typing and presence in the second phase.
    #[arg(long, default_value_t = 8)]
    flooders: usize,
    /// Typing/presence frames per second, all flooders together.
    #[arg(long, default_value_t = 500.0)]
    flood_rate: f64,
    /// Extra environment for the fleet, `KEY=VALUE` (repeatable), e.g.
    /// `CHATFLOW_SERVICES__GATEWAY__EPHEMERAL_QUEUE=64`.
    #[arg(long = "fleet-env", value_name = "KEY=VALUE")]
    fleet_env: Vec<String>,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match generate(&args).await {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(err) => eprintln!("error: {err}"),
                }
            } else {
                print!("{}", report.markdown());
            }
            if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Starts the fleet, runs the load, always stops the fleet.
async fn generate(args: &Args) -> Result<RunReport> {
    let load = load(args)?;
    let binary = match &args.chatflow {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("chatflow"),
    };
    let fleet_env = args
        .fleet_env
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
            None => bail!("--fleet-env wants KEY=VALUE, not {pair:?}"),
        })
        .collect::<Result<Vec<_>>>()?;
    let origin = Instant::now();
    let mut fleet = Fleet::start(&binary, &fleet_env).await?;
    let started = origin.elapsed().as_secs_f64();
    let outcome = tokio::select! {
        outcome = run::run(&mut fleet, load, origin) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let stopping = Instant::now();
    let stopped = fleet.stop().await;
    let stop = stopping.elapsed().as_secs_f64();
    let (setup, phases) = outcome?;
    let settings = serde_json::to_value(args).unwrap_or_default();
    let chatflow = format!("{} ({} build)", binary.display(), profile_of(&binary));
    let mut report = RunReport::new(chatflow, settings, setup, phases);
    report.fleet = match stopped {
        Ok((status, problems)) => {
            if !status.success() {
                report.failures.push(format!("fleet exited with {status}"));
            }
            format!(
                "up in {started:.1} s; {problems} WARN/ERROR log lines; \
                 {status} {stop:.1} s after SIGTERM"
            )
        }
        Err(err) => {
            report
                .failures
                .push("fleet did not stop cleanly".to_owned());
            format!("up in {started:.1} s; did not stop cleanly: {err:#}")
        }
    };
    Ok(report)
}

/// The load the arguments describe, checked.
fn load(args: &Args) -> Result<Load> {
    if args.senders == 0 || args.receivers == 0 {
        bail!("--senders and --receivers must be at least 1");
    }
    if !(args.rate > 0.0 && args.seconds > 0.0 && args.warmup >= 0.0) {
        bail!("--rate and --seconds must be positive, --warmup not negative");
    }
    if args.flooders > 0 && args.flood_rate <= 0.0 {
        bail!("--flood-rate must be positive when there are flooders");
    }
    Ok(Load {
        senders: args.senders,
        receivers: args.receivers,
        rate: args.rate,
        seconds: args.seconds,
        warmup: args.warmup,
        flooders: args.flooders,
        flood_rate: args.flood_rate,
    })
}

/// `debug` or `release` from a Cargo target path, else `unknown`.
fn profile_of(binary: &std::path::Path) -> &'static str {
    let parts: Vec<_> = binary.components().map(|c| c.as_os_str()).collect();
    if parts.iter().any(|p| *p == "release") {
        "release"
    } else if parts.iter().any(|p| *p == "debug") {
        "debug"
    } else {
        "unknown"
    }
}
