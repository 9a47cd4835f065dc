//! `chatflow-groups`: the groups service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Groups,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Groups], |_| {
        Box::new(chatflow_groups::GroupsLauncher)
    })
}
