//! `chatflow-auth`: the auth service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Auth,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Auth], |_| Box::new(chatflow_auth::AuthLauncher))
}
