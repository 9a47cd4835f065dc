//! Runs `chatflow` as child processes on free ports and reads their banners
//! and logs (both on stdout): `chatflow up` (every service, embedded
//! backends) or `chatflow serve <services>` with any settings, for split
//! deployments on real backends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// Every listener of every service on a free port.
const PORT_ZERO: [&str; 16] = [
    "CHATFLOW_SERVICES__CONFIG__HTTP_ADDR",
    "CHATFLOW_SERVICES__CONFIG__GRPC_ADDR",
    "CHATFLOW_SERVICES__AUTH__HTTP_ADDR",
    "CHATFLOW_SERVICES__RATE_LIMIT__GRPC_ADDR",
    "CHATFLOW_SERVICES__PROFILE__HTTP_ADDR",
    "CHATFLOW_SERVICES__PROFILE__GRPC_ADDR",
    "CHATFLOW_SERVICES__RECEIPTS__HTTP_ADDR",
    "CHATFLOW_SERVICES__RECEIPTS__GRPC_ADDR",
    "CHATFLOW_SERVICES__PRESENCE__HTTP_ADDR",
    "CHATFLOW_SERVICES__PRESENCE__GRPC_ADDR",
    "CHATFLOW_SERVICES__GROUPS__HTTP_ADDR",
    "CHATFLOW_SERVICES__GROUPS__GRPC_ADDR",
    "CHATFLOW_SERVICES__MESSAGE_ROUTER__HTTP_ADDR",
    "CHATFLOW_SERVICES__MESSAGE_ROUTER__GRPC_ADDR",
    "CHATFLOW_SERVICES__GATEWAY__HTTP_ADDR",
    "CHATFLOW_SERVICES__GATEWAY__DRAIN_DEADLINE_SECS",
];

/// A running `chatflow` process and the URLs its banner printed.
pub struct Fleet {
    child: Child,
    /// `"<service> <protocol>"` (e.g. `"auth http"`, `"gateway ws"`) → URL.
    urls: HashMap<String, String>,
    /// Every later stdout line, in order.
    lines: mpsc::UnboundedReceiver<String>,
    /// How it was started, so it can be started again.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    spec: (PathBuf, Vec<String>, Vec<(String, String)>),
}

impl Fleet {
    /// `chatflow up` on embedded backends under `data_dir`.
    pub async fn up(data_dir: &Path) -> Self {
        Self::start(data_dir, &["up"], &[]).await
    }

    /// `chatflow <args>` with `env` on top of free ports everywhere.
    pub async fn start(data_dir: &Path, args: &[&str], env: &[(String, String)]) -> Self {
        let spec = (
            data_dir.to_owned(),
            args.iter().map(|a| (*a).to_owned()).collect(),
            env.to_vec(),
        );
        Self::spawn(spec).await
    }

    async fn spawn(spec: (PathBuf, Vec<String>, Vec<(String, String)>)) -> Self {
        let (data_dir, args, env) = &spec;
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatflow"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--ops-addr", "127.0.0.1:0"]);
        for name in PORT_ZERO {
            let value = if name.ends_with("DEADLINE_SECS") {
                "1"
            } else {
                "127.0.0.1:0"
            };
            command.env(name, value);
        }
        command
            .env("RUST_LOG", "warn,chatflow_auth=info")
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        // One reader drains stdout for the child's whole life, so it never
        // blocks on a full pipe; tests read what they need from the channel.
        let (tx, mut lines) = mpsc::unbounded_channel();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let label = args.join(" ");
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                // Problems are shown with the test's output, for diagnosis.
                if line.contains(" WARN ") || line.contains(" ERROR ") {
                    eprintln!("[chatflow {label}] {line}");
                }
                let _ = tx.send(line);
            }
        });
        let mut urls = HashMap::new();
        let banner = async {
            while let Some(line) = lines.recv().await {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["ops", "http", url, ..] => {
                        let ops = url.strip_suffix("/healthz").unwrap_or(url);
                        urls.insert("ops http".to_owned(), ops.to_owned());
                    }
                    [service, protocol, url] if url.contains("://") => {
                        urls.insert(format!("{service} {protocol}"), (*url).to_owned());
                    }
                    ["Press", ..] => return,
                    ["ChatFlow", "is", "up", ..] => {
                        eprintln!("[chatflow {}] {line}", args.join(" "))
                    }
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), banner)
            .await
            .expect("no start-up banner");
        Self {
            child,
            urls,
            lines,
            spec,
        }
    }

    /// The URL the banner printed for `"<service> <protocol>"`, if any.
    pub fn try_url(&self, what: &str) -> Option<String> {
        self.urls.get(what).cloned()
    }

    /// The URL the banner printed for `"<service> <protocol>"`.
    pub fn url(&self, what: &str) -> String {
        self.urls
            .get(what)
            .unwrap_or_else(|| panic!("banner lacks {what}: {:?}", self.urls))
            .clone()
    }

    /// The next verification code the auth service logs (development mode).
    pub async fn next_code(&mut self) -> String {
        let find = async {
            while let Some(line) = self.lines.recv().await {
                if !line.contains("verification code") {
                    continue;
                }
                if let Some(code) = line
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("code="))
                {
                    return code.trim_matches('"').to_owned();
                }
            }
            panic!("fleet stdout closed");
        };
        tokio::time::timeout(Duration::from_secs(10), find)
            .await
            .expect("no verification code logged")
    }

    /// Registers, verifies and logs in `email` with the test password;
    /// returns (user id, access token).
    pub async fn account(&mut self, email: &str) -> (String, String) {
        let client = reqwest::Client::new();
        let auth = self.url("auth http");
        let credentials = serde_json::json!({"email": email, "password": PASSWORD});
        let registered = client
            .post(format!("{auth}/v1/auth/register"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 202);
        let code = self.next_code().await;
        let verified = client
            .post(format!("{auth}/v1/auth/verify"))
            .json(&serde_json::json!({"email": email, "code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(verified.status(), 204);
        let session = self.login(email).await;
        (
            session["user_id"].as_str().unwrap().to_owned(),
            session["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Logs in `email` with the test password; returns the token pair.
    pub async fn login(&self, email: &str) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/v1/auth/login", self.url("auth http")))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    /// Logs in `email` again as another device; returns its access token.
    pub async fn login_device(&self, email: &str, device_id: &str) -> String {
        let session: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/v1/auth/login", self.url("auth http")))
            .json(
                &serde_json::json!({"email": email, "password": PASSWORD, "device_id": device_id}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        session["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{session}"))
            .to_owned()
    }

    /// SIGKILL (no drain, no goodbye), then the same command again on the
    /// same fixed addresses; listeners given as port 0 get new ports.
    pub async fn restart_after_kill(mut self) -> Self {
        self.child.kill().await.unwrap();
        Self::spawn(self.spec.clone()).await
    }

    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    /// SIGKILL: the process vanishes without a goodbye.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("child already exited").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("fleet did not stop after SIGTERM")
            .unwrap();
        assert!(status.success(), "fleet exited with {status}");
    }
}
