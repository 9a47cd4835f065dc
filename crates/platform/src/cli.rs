//! The command line shared by `chatflow` and every per-service binary.
//!
//! `chatflow up` runs every service on embedded backends; `chatflow serve
//! config` runs the named ones. Flags override the config file and
//! `CHATFLOW_*` environment variables.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::{PlatformConfig, ServiceLauncher, run_fleet};

/// ChatFlow: a self-hostable real-time messaging backend.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A TOML configuration file (layered under env vars and flags).
    #[arg(long, global = true, env = "CHATFLOW_CONFIG_FILE")]
    config: Option<PathBuf>,
    /// Directory for embedded backends (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Refuse embedded backends and development conveniences.
    #[arg(long, global = true)]
    production: bool,
    /// Event bus URL: kafka://host:9092, memory:// or sqlite://path.
    #[arg(long, global = true)]
    bus_url: Option<String>,
    /// Relational store URL: postgres://… or sqlite://dir.
    #[arg(long, global = true)]
    sql_url: Option<String>,
    /// Cache URL: redis://host:6379 or memory://.
    #[arg(long, global = true)]
    cache_url: Option<String>,
    /// Address of the /healthz, /readyz and /metrics server.
    #[arg(long, global = true)]
    ops_addr: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in this process (embedded backends unless configured).
    Up,
    /// Run the named services in this process.
    Serve {
        /// Service names, e.g. `config`.
        #[arg(required = true)]
        services: Vec<String>,
    },
}

/// Flags as a config layer: only what was given overrides lower layers.
#[derive(Serialize)]
struct FlagLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    production: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ops_addr: Option<String>,
    backends: BackendFlags,
}

#[derive(Serialize)]
struct BackendFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    bus_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sql_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_url: Option<String>,
}

/// The whole `main` of a ChatFlow binary: `all` are the services it can run,
/// `launcher` builds the launcher of one. Without a subcommand it runs them all.
pub fn main<S: ValueEnum + Clone>(
    all: &[S],
    launcher: fn(&S) -> Box<dyn ServiceLauncher>,
) -> ExitCode {
    let cli = Cli::parse();
    let selected = match &cli.command {
        None | Some(Command::Up) => Ok(all.to_vec()),
        Some(Command::Serve { services }) => services
            .iter()
            .map(|name| S::from_str(name, true).map_err(|_| unknown_service(name, all)))
            .collect(),
    };
    let selected = match selected {
        Ok(selected) => selected,
        Err(message) => return fail(&message),
    };
    let flags = FlagLayer {
        data_dir: cli.data_dir.clone(),
        production: cli.production.then_some(true),
        ops_addr: cli.ops_addr.clone(),
        backends: BackendFlags {
            bus_url: cli.bus_url.clone(),
            sql_url: cli.sql_url.clone(),
            cache_url: cli.cache_url.clone(),
        },
    };
    let config: PlatformConfig = match chatflow_runtime::config::load(cli.config.as_deref(), &flags)
    {
        Ok(config) => config,
        Err(err) => return fail(&format!("configuration: {err}")),
    };
    // Refuse before anything starts, so the message is the only output.
    if let Err(err) = config.check_production() {
        return fail(&err.to_string());
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    let launchers = selected.iter().map(launcher).collect();
    match runtime.block_on(run_fleet(config, launchers)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err.to_string()),
    }
}

fn unknown_service<S: ValueEnum>(name: &str, all: &[S]) -> String {
    let known: Vec<String> = all
        .iter()
        .filter_map(|s| s.to_possible_value().map(|v| v.get_name().to_owned()))
        .collect();
    format!(
        "unknown service {name:?}; known services: {}",
        known.join(", ")
    )
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
