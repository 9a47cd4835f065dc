//! `chatflow-message-router`: the message router alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    MessageRouter,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::MessageRouter], |_| {
        Box::new(chatflow_message_router::RouterLauncher)
    })
}
