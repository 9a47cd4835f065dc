//! `chatflow-rate-limit`: the rate-limit service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    RateLimit,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::RateLimit], |_| {
        Box::new(chatflow_rate_limit::RateLimitLauncher)
    })
}
