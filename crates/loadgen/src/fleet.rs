//! The `chatflow up` child process: started on free ports in a fresh data
//! directory (the way the binary's own end-to-end tests start it), its
//! banner read for the endpoints, its log read for verification codes, and
//! stopped with SIGTERM.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::banner::{self, Line};

/// Every listener `chatflow up` opens, moved to a free port.
const PORT_ZERO: [&str; 15] = [
    "CHATFLOW_SERVICES__CONFIG__HTTP_ADDR",
    "CHATFLOW_SERVICES__CONFIG__GRPC_ADDR",
    "CHATFLOW_SERVICES__AUTH__HTTP_ADDR",
    "CHATFLOW_SERVICES__RATE_LIMIT__GRPC_ADDR",
    "CHATFLOW_SERVICES__PROFILE__HTTP_ADDR",
    "CHATFLOW_SERVICES__GROUPS__HTTP_ADDR",
    "CHATFLOW_SERVICES__GROUPS__GRPC_ADDR",
    "CHATFLOW_SERVICES__MESSAGE_ROUTER__HTTP_ADDR",
    "CHATFLOW_SERVICES__MESSAGE_ROUTER__GRPC_ADDR",
    "CHATFLOW_SERVICES__GATEWAY__HTTP_ADDR",
    "CHATFLOW_SERVICES__PRESENCE__HTTP_ADDR",
    "CHATFLOW_SERVICES__PRESENCE__GRPC_ADDR",
    "CHATFLOW_SERVICES__RECEIPTS__HTTP_ADDR",
    "CHATFLOW_SERVICES__RECEIPTS__GRPC_ADDR",
    "CHATFLOW_SERVICES__PROFILE__GRPC_ADDR",
];

/// Set on the child besides the ports: codes logged at INFO, a short drain,
/// a login throttle per IP that lets one address log in every account, and
/// the cheapest argon2id cost (a development knob: thousands of generated
/// accounts register in seconds instead of minutes).
const SETTINGS: [(&str, &str); 7] = [
    ("RUST_LOG", "warn,chatflow_auth=info"),
    ("CHATFLOW_SERVICES__AUTH__ARGON2__MEMORY_KIB", "64"),
    ("CHATFLOW_SERVICES__AUTH__ARGON2__ITERATIONS", "1"),
    ("CHATFLOW_SERVICES__AUTH__MAX_CONCURRENT_HASHES", "16"),
    ("CHATFLOW_SERVICES__GATEWAY__DRAIN_DEADLINE_SECS", "1"),
    (
        "CHATFLOW_SERVICES__AUTH__THROTTLE__LOGIN_PER_IP__REQUESTS",
        "10000",
    ),
    (
        "CHATFLOW_SERVICES__AUTH__THROTTLE__LOGIN_PER_IP__PER_SECS",
        "60",
    ),
];

/// How long start-up may take (a debug build migrates every store).
const BANNER_WAIT: Duration = Duration::from_secs(120);
/// How long the codes of one batch of registrations may take.
const CODES_WAIT: Duration = Duration::from_secs(60);
/// How long the child may take to drain and exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// Warnings and errors of the child echoed to stderr before only counting.
const ECHO_LIMIT: u64 = 20;

/// A running `chatflow up` and what it printed.
pub struct Fleet {
    child: Child,
    urls: HashMap<String, String>,
    /// Codes logged after the banner, in order.
    lines: mpsc::UnboundedReceiver<Line>,
    /// Drains stdout; returns how many WARN and ERROR lines it saw.
    reader: JoinHandle<u64>,
    _data: tempfile::TempDir,
}

impl Fleet {
    /// Starts `binary up` in a new temporary data directory and waits for
    /// its banner. `extra_env` is set last, so it can override anything.
    ///
    /// Services are being added to the fleet all the time: when this binary
    /// refuses one of the port settings as unknown (its service has no such
    /// listener yet), it is started again without that setting.
    pub async fn start(binary: &Path, extra_env: &[(String, String)]) -> Result<Self> {
        let mut ports: Vec<&str> = PORT_ZERO.to_vec();
        loop {
            let (error, stderr) = match Self::try_start(binary, &ports, extra_env).await {
                Ok(fleet) => return Ok(fleet),
                Err(failed) => failed,
            };
            let unknown = stderr
                .iter()
                .filter_map(|line| banner::unknown_setting(line))
                .find(|name| ports.contains(&name.as_str()));
            match unknown {
                Some(name) => {
                    eprintln!("note: this chatflow has no {name}; starting it again without");
                    ports.retain(|port| *port != name);
                }
                None => return Err(error),
            }
        }
    }

    /// One start; on failure, the error and what the child wrote to stderr.
    async fn try_start(
        binary: &Path,
        ports: &[&str],
        extra_env: &[(String, String)],
    ) -> Result<Self, (anyhow::Error, Vec<String>)> {
        let data = tempfile::tempdir()
            .context("creating a data directory")
            .map_err(|e| (e, Vec::new()))?;
        let mut child = Command::new(binary)
            .arg("up")
            .arg("--data-dir")
            .arg(data.path())
            .args(["--ops-addr", "127.0.0.1:0"])
            .envs(ports.iter().map(|name| (*name, "127.0.0.1:0")))
            .envs(SETTINGS)
            .envs(extra_env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))
            .map_err(|e| (e, Vec::new()))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err((anyhow!("no stdout/stderr pipe"), Vec::new()));
        };
        // Fatal start-up errors and panics: shown as they come, and kept.
        let stderr = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut kept = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[chatflow stderr] {line}");
                if kept.len() < 100 {
                    kept.push(line);
                }
            }
            kept
        });
        let (tx, lines) = mpsc::unbounded_channel();
        // One reader drains stdout for the child's whole life, so it never
        // blocks on a full pipe.
        let reader = tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            let mut problems = 0;
            while let Ok(Some(line)) = stdout.next_line().await {
                if line.contains(" WARN ") || line.contains(" ERROR ") {
                    problems += 1;
                    if problems <= ECHO_LIMIT {
                        eprintln!("[chatflow] {line}");
                    }
                }
                let parsed = banner::parse(&line);
                if parsed != Line::Other {
                    let _ = tx.send(parsed);
                }
            }
            problems
        });
        let mut fleet = Self {
            child,
            urls: HashMap::new(),
            lines,
            reader,
            _data: data,
        };
        if let Err(err) = fleet.read_banner().await {
            let _ = fleet.stop().await;
            return Err((err, stderr.await.unwrap_or_default()));
        }
        Ok(fleet)
    }

    async fn read_banner(&mut self) -> Result<()> {
        let read = async {
            while let Some(line) = self.lines.recv().await {
                match line {
                    Line::Endpoint(what, url) => {
                        self.urls.insert(what, url);
                    }
                    Line::BannerEnd => return Ok(()),
                    _ => {}
                }
            }
            let status = self.child.wait().await.ok();
            Err(anyhow!(
                "chatflow exited before printing its banner ({})",
                status.map_or("status unknown".to_owned(), |s| s.to_string())
            ))
        };
        tokio::time::timeout(BANNER_WAIT, read)
            .await
            .map_err(|_| anyhow!("no start-up banner within {BANNER_WAIT:?}"))?
    }

    /// The process id of `chatflow up`, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The URL the banner printed for `"<service> <protocol>"`.
    pub fn url(&self, what: &str) -> Result<&str> {
        self.urls.get(what).map(String::as_str).ok_or_else(|| {
            let mut known: Vec<&String> = self.urls.keys().collect();
            known.sort();
            anyhow!("the banner has no `{what}` endpoint (it has {known:?})")
        })
    }

    /// Reads the log until a verification code was logged for each of
    /// `emails`; returns them by email.
    pub async fn codes(&mut self, emails: &[String]) -> Result<HashMap<String, String>> {
        let mut wanted: HashSet<&str> = emails.iter().map(String::as_str).collect();
        let mut codes = HashMap::new();
        let read = async {
            while !wanted.is_empty() {
                match self.lines.recv().await {
                    Some(Line::Code(to, code)) if wanted.remove(to.as_str()) => {
                        codes.insert(to, code);
                    }
                    Some(_) => {}
                    None => bail!("chatflow's stdout closed while waiting for codes"),
                }
            }
            Ok(())
        };
        tokio::time::timeout(CODES_WAIT, read)
            .await
            .map_err(|_| anyhow!("no verification code logged for {wanted:?}"))??;
        Ok(codes)
    }

    /// Sends SIGTERM and waits for the child to exit (SIGKILL after
    /// [`STOP_WAIT`]); returns its status and how many WARN/ERROR lines it
    /// logged.
    pub async fn stop(mut self) -> Result<(ExitStatus, u64)> {
        if let Some(pid) = self.child.id() {
            let signalled = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await
                .context("running kill -TERM")?;
            if !signalled.success() {
                eprintln!("kill -TERM {pid} failed: {signalled}");
            }
        }
        let status = match tokio::time::timeout(STOP_WAIT, self.child.wait()).await {
            Ok(status) => status.context("waiting for chatflow")?,
            Err(_) => {
                self.child.kill().await.context("killing chatflow")?;
                bail!("chatflow did not exit within {STOP_WAIT:?} of SIGTERM; killed");
            }
        };
        let problems = self.reader.await.unwrap_or(0);
        Ok((status, problems))
    }
}
