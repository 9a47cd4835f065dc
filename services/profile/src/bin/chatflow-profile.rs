//! `chatflow-profile`: the profile service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Profile,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Profile], |_| {
        Box::new(chatflow_profile::ProfileLauncher)
    })
}
