//! `chatflow-load`: a load generator for the whole fleet.
//!
//! It starts `chatflow up` on free ports in a fresh data directory, creates
//! accounts and one group, connects every simulated device over WebSocket,
//! warms the fleet up, and runs the same message load twice — alone
//! ("baseline") and under a typing/presence flood — measuring delivery and ack latency and checking
//! that nothing is lost, duplicated or reordered. It prints a Markdown table
//! (or JSON), stops the fleet with SIGTERM, and exits 1 when an invariant
//! broke (2 when the run itself failed).
//!
//! `--scenario pairs` and `--scenario idle` are the open-loop benchmarks of
//! issue #11 (see [`bench`]): they drive ChatFlow and the Socket.IO
//! reference peer (`--target chatflow,socketio`) with the same code and
//! print one Markdown table with both side by side.

mod banner;
mod bench;
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

use crate::bench::target::Kind;
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
    /// What to run: the group chat with a presence flood (the default), the
    /// open-loop 1:1 pairs benchmark, or idle connections.
    #[arg(long, value_enum, default_value_t = Scenario::GroupFlood)]
    scenario: Scenario,
    /// Systems to benchmark, one after the other (pairs and idle only).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "chatflow")]
    target: Vec<Kind>,
    /// An already running Socket.IO peer's WebSocket URLs (comma-separated);
    /// without it the generator starts the peer itself.
    #[arg(long, value_delimiter = ',')]
    target_url: Vec<String>,
    /// Server process ids to measure with `--target-url`.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// The Socket.IO peer's directory (default: `bench/socketio` of this repository).
    #[arg(long)]
    peer_dir: Option<PathBuf>,
    /// Pairs: sender/receiver pairs (two connections each).
    #[arg(long, default_value_t = 500)]
    pairs: usize,
    /// Pairs: offered rates in messages per second, one step each.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    rates: Vec<f64>,
    /// Pairs: seconds of the measured window of each step (after `--warmup`).
    #[arg(long, default_value_t = 20.0)]
    window: f64,
    /// Pairs: longest wait, in seconds, for stragglers after each step.
    #[arg(long, default_value_t = 30.0)]
    drain: f64,
    /// Pairs: size of each message's text in bytes.
    #[arg(long, default_value_t = 100)]
    body_bytes: usize,
    /// Idle: connection counts to grow through (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    connections: Vec<usize>,
    /// Idle: seconds of the CPU window at each count (at least a heartbeat).
    #[arg(long, default_value_t = 30.0)]
    idle_window: f64,
    /// Idle: ChatFlow users the connections share (round-robin).
    #[arg(long, default_value_t = 1000)]
    idle_accounts: usize,
}

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
enum Scenario {
    /// A group chat, alone and under a typing/presence flood.
    GroupFlood,
    /// Open-loop 1:1 pairs at fixed rates.
    Pairs,
    /// Idle authenticated connections.
    Idle,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.scenario != Scenario::GroupFlood {
        return match benchmark(&args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        };
    }
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

/// The `chatflow` binary to start.
fn chatflow_binary(args: &Args) -> Result<PathBuf> {
    match &args.chatflow {
        Some(path) => Ok(path.clone()),
        None => Ok(std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("chatflow")),
    }
}

/// `--fleet-env` as pairs.
fn fleet_env(args: &Args) -> Result<Vec<(String, String)>> {
    args.fleet_env
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
            None => bail!("--fleet-env wants KEY=VALUE, not {pair:?}"),
        })
        .collect()
}

/// Runs the pairs or idle benchmark on every target and prints the table.
async fn benchmark(args: &Args) -> Result<()> {
    let most = args
        .connections
        .iter()
        .max()
        .copied()
        .unwrap_or(0)
        .max(2 * args.pairs);
    bench::raise_nofile(2 * most as u64 + 4096)?;
    let options = bench::target::Options {
        chatflow: chatflow_binary(args)?,
        fleet_env: fleet_env(args)?,
        peer_dir: args
            .peer_dir
            .clone()
            .unwrap_or_else(bench::target::default_peer_dir),
        peer_urls: args.target_url.clone(),
        server_pids: args.server_pid.clone(),
    };
    let secs = |s: f64, what: &str| {
        if s.is_finite() && s >= 0.0 {
            Ok(std::time::Duration::from_secs_f64(s))
        } else {
            bail!("{what} must be a non-negative number of seconds")
        }
    };
    let output = match args.scenario {
        Scenario::Pairs => {
            if args.pairs == 0 || args.rates.iter().any(|r| r.is_nan() || *r <= 0.0) {
                bail!("--pairs and every --rates value must be positive");
            }
            let load = bench::pairs::Load {
                pairs: args.pairs,
                rates: args.rates.clone(),
                warmup: secs(args.warmup, "--warmup")?,
                window: secs(args.window, "--window")?.max(std::time::Duration::from_millis(100)),
                drain: secs(args.drain, "--drain")?,
                body_bytes: args.body_bytes,
            };
            bench::run_pairs(&args.target, &options, &load, args.json).await?
        }
        Scenario::Idle => {
            let mut counts = args.connections.clone();
            counts.sort_unstable();
            counts.dedup();
            let load = bench::idle::Load {
                counts,
                window: secs(args.idle_window, "--idle-window")?,
                accounts: args.idle_accounts,
            };
            bench::run_idle(&args.target, &options, &load, args.json).await?
        }
        Scenario::GroupFlood => String::new(),
    };
    print!("{output}");
    Ok(())
}

/// Starts the fleet, runs the load, always stops the fleet.
async fn generate(args: &Args) -> Result<RunReport> {
    let load = load(args)?;
    let binary = chatflow_binary(args)?;
    let fleet_env = fleet_env(args)?;
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
