//! `chatflow-gateway`: a gateway node alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Gateway,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Gateway], |_| {
        Box::new(chatflow_gateway::GatewayLauncher)
    })
}
