//! A private DynamoDB Local process that a test may kill and restart.
//!
//! Never the shared instance on port 8000: each emulator listens on a free
//! port of its own (see `chatflow_testkit::server`).

use std::path::PathBuf;
use std::time::Duration;

use chatflow_testkit::server::PrivateServer;
use tokio::process::Command;

pub use chatflow_testkit::server::free_port;

/// Where the emulator's jar lives: `CHATFLOW_DYNAMODB_LOCAL_DIR` or the cache.
pub fn emulator_dir() -> PathBuf {
    std::env::var_os("CHATFLOW_DYNAMODB_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/chatflow/tools/dynamodb-local/package/emulator")
        })
}

/// Starts DynamoDB Local on a free port and waits until it accepts connections.
pub async fn start() -> PrivateServer {
    let dir = emulator_dir();
    assert!(
        dir.join("DynamoDBLocal.jar").exists(),
        "no DynamoDB Local in {}",
        dir.display()
    );
    PrivateServer::start("DynamoDB Local", Duration::from_secs(90), move |port| {
        let mut command = Command::new("java");
        command
            .arg("-Djava.library.path=./DynamoDBLocal_lib")
            .args([
                "-jar",
                "DynamoDBLocal.jar",
                "-inMemory",
                "-sharedDb",
                "-disableTelemetry",
            ])
            .args(["-port", &port.to_string()])
            .current_dir(&dir);
        command
    })
    .await
}

/// The URL a store connects with.
pub fn url(server: &PrivateServer) -> String {
    format!("dynamodb://127.0.0.1:{}", server.port())
}
