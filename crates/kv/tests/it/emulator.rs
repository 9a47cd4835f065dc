//! A private DynamoDB Local process that a test may kill and restart.
//!
//! Never the shared instance on port 8000: each emulator listens on a free
//! port of its own and dies with its handle (`kill_on_drop`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A running DynamoDB Local child process.
pub struct Emulator {
    child: Child,
    /// The port it listens on (all interfaces; the tests use 127.0.0.1).
    pub port: u16,
}

/// Where the emulator's jar lives: `CHATFLOW_DYNAMODB_LOCAL_DIR` or the cache.
pub fn emulator_dir() -> PathBuf {
    std::env::var_os("CHATFLOW_DYNAMODB_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/chatflow/tools/dynamodb-local/package/emulator")
        })
}

/// A port nothing listens on right now: bind port 0, note it, release it.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Emulator {
    /// Starts DynamoDB Local on `port` and waits until the port accepts connections.
    pub async fn start(port: u16) -> Self {
        let dir = emulator_dir();
        assert!(
            dir.join("DynamoDBLocal.jar").exists(),
            "no DynamoDB Local in {}",
            dir.display()
        );
        let child = Command::new("java")
            .arg("-Djava.library.path=./DynamoDBLocal_lib")
            .args([
                "-jar",
                "DynamoDBLocal.jar",
                "-inMemory",
                "-sharedDb",
                "-disableTelemetry",
            ])
            .args(["-port", &port.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("java must be installed to start DynamoDB Local");
        let mut emulator = Self { child, port };
        emulator.wait_until_listening(Duration::from_secs(90)).await;
        emulator
    }

    /// Probes the port until it accepts a connection; panics if the process exits.
    async fn wait_until_listening(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "DynamoDB Local exited early on port {}: {status}",
                    self.port
                );
            }
            assert!(
                started.elapsed() < limit,
                "DynamoDB Local not listening after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// The URL a store connects with.
    pub fn url(&self) -> String {
        format!("dynamodb://127.0.0.1:{}", self.port)
    }
}
