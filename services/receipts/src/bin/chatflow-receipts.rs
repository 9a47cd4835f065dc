//! `chatflow-receipts`: the receipts service alone, for its own container.

use std::process::ExitCode;

/// The services this binary can run.
#[derive(Clone, clap::ValueEnum)]
enum Only {
    Receipts,
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(&[Only::Receipts], |_| {
        Box::new(chatflow_receipts::ReceiptsLauncher)
    })
}
