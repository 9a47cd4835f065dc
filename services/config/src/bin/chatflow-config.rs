//! `chatflow-config`: the config service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Config,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Config], |_| {
        Box::new(chatflow_config::ConfigLauncher)
    })
}
