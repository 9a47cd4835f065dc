//! Private server processes for fault tests.
//!
//! A fault test must be free to kill its server, so it never uses the shared
//! one: it starts its own on a free port ([`PrivateServer`]), waits for the
//! port to accept connections (probing, never a fixed sleep), kills it, and
//! restarts it on the same port to check that clients recover.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A port nothing listens on right now: bind port 0, note it, release it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free local port")
}

/// Builds the command that starts the server on the given port.
pub type SpawnFn = Box<dyn Fn(u16) -> Command + Send + Sync>;

/// A server child process on a port of its own; killed when dropped.
pub struct PrivateServer {
    name: &'static str,
    port: u16,
    spawn: SpawnFn,
    ready_within: Duration,
    child: Option<Child>,
}

impl PrivateServer {
    /// Starts `name` on a free port and waits until it accepts connections.
    pub async fn start(
        name: &'static str,
        ready_within: Duration,
        spawn: impl Fn(u16) -> Command + Send + Sync + 'static,
    ) -> Self {
        let mut server = Self {
            name,
            port: free_port(),
            spawn: Box::new(spawn),
            ready_within,
            child: None,
        };
        server.restart().await;
        server
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id while it runs (to send SIGSTOP/SIGCONT, say).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port and waits until it listens.
    /// Spawning is retried while the old socket is still being released.
    pub async fn restart(&mut self) {
        self.kill().await;
        let deadline = Instant::now() + self.ready_within;
        loop {
            let mut child = (self.spawn)(self.port)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                    .await
                    .is_ok()
                {
                    self.child = Some(child);
                    return;
                }
                if child.try_wait().ok().flatten().is_some() {
                    break; // exited, most likely because the port is still held
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not listen on {} in time",
                    self.name,
                    self.port
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(
                Instant::now() < deadline,
                "{} kept exiting on port {}",
                self.name,
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
