//! The Socket.IO reference peer (`bench/socketio/server.js`): a private
//! `redis-server` on a free port and two Node processes sharing it through
//! the Redis adapter, started and stopped by the generator.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Node processes behind the Redis adapter.
const NODES: usize = 2;
/// How long Redis and Node may take to start listening.
const START_WAIT: Duration = Duration::from_secs(30);

/// The running peer.
pub struct Peer {
    redis: Child,
    nodes: Vec<Child>,
    /// One `ws://127.0.0.1:<port>` per Node process.
    pub urls: Vec<String>,
}

/// The peer's directory in this repository.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/socketio")
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Peer {
    /// Starts Redis, then the Node processes, and waits until all listen.
    pub async fn start(dir: &Path) -> Result<Self> {
        if !dir.join("node_modules").is_dir() {
            bail!(
                "{} has no node_modules: run `npm ci` there first",
                dir.display()
            );
        }
        let redis_port = free_port()?;
        let mut redis = Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxclients", "1000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server")?;
        wait_for_line(&mut redis, "Ready to accept connections").await?;
        let mut peer = Self {
            redis,
            nodes: Vec::new(),
            urls: Vec::new(),
        };
        for _ in 0..NODES {
            let port = free_port()?;
            let mut node = Command::new("node")
                .arg("server.js")
                .current_dir(dir)
                .env("PORT", port.to_string())
                .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("starting node server.js")?;
            let ready = wait_for_line(&mut node, "listening").await;
            peer.nodes.push(node);
            if let Err(err) = ready {
                peer.stop().await;
                return Err(err);
            }
            peer.urls.push(format!("ws://127.0.0.1:{port}"));
        }
        Ok(peer)
    }

    /// The processes whose CPU and memory count as the server's.
    pub fn pids(&self) -> Vec<u32> {
        std::iter::once(&self.redis)
            .chain(&self.nodes)
            .filter_map(Child::id)
            .collect()
    }

    /// Stops the Node processes with SIGTERM, then Redis.
    pub async fn stop(mut self) {
        for node in &mut self.nodes {
            terminate(node).await;
        }
        terminate(&mut self.redis).await;
    }
}

/// SIGTERM, then SIGKILL after 5 s.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Reads the child's stdout until a line contains `needle`, then keeps
/// draining it in the background so the pipe never fills.
async fn wait_for_line(child: &mut Child, needle: &str) -> Result<()> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout pipe"))?;
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(START_WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(needle) {
                return true;
            }
        }
        false
    })
    .await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    match found {
        Ok(true) => Ok(()),
        Ok(false) => bail!("exited before printing {needle:?}"),
        Err(_) => bail!("did not print {needle:?} within {START_WAIT:?}"),
    }
}
