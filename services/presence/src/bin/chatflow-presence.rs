//! `chatflow-presence`: the presence service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Presence,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Presence], |_| {
        Box::new(chatflow_presence::PresenceLauncher)
    })
}
