//! Runs `chatflow up` as a child process on free ports and reads its banner
//! and log (both on stdout).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// A running `chatflow up` and the URLs its banner printed.
pub struct Fleet {
    child: Child,
    pub ops: String,
    pub config_http: String,
    pub auth_http: String,
    pub profile_http: String,
    pub groups_http: String,
    pub router_http: String,
    pub gateway_ws: String,
    /// Every later stdout line, in order.
    lines: mpsc::UnboundedReceiver<String>,
}

impl Fleet {
    /// Starts the fleet with every listener on port 0 and waits for the banner.
    pub async fn up(data_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatflow"))
            .arg("up")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--ops-addr", "127.0.0.1:0"])
            .env("CHATFLOW_SERVICES__CONFIG__HTTP_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__CONFIG__GRPC_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__AUTH__HTTP_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__RATE_LIMIT__GRPC_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__PROFILE__HTTP_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__GROUPS__HTTP_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__GROUPS__GRPC_ADDR", "127.0.0.1:0")
            .env(
                "CHATFLOW_SERVICES__MESSAGE_ROUTER__HTTP_ADDR",
                "127.0.0.1:0",
            )
            .env(
                "CHATFLOW_SERVICES__MESSAGE_ROUTER__GRPC_ADDR",
                "127.0.0.1:0",
            )
            .env("CHATFLOW_SERVICES__GATEWAY__HTTP_ADDR", "127.0.0.1:0")
            .env("CHATFLOW_SERVICES__GATEWAY__DRAIN_DEADLINE_SECS", "1")
            .env("RUST_LOG", "warn,chatflow_auth=info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // One reader drains stdout for the child's whole life, so it never
        // blocks on a full pipe; tests read what they need from the channel.
        let (tx, mut lines) = mpsc::unbounded_channel();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let _ = tx.send(line);
            }
        });
        let mut urls = std::collections::HashMap::new();
        let (mut ops, mut config_http, mut auth_http, mut profile_http) = (None, None, None, None);
        let banner = async {
            while let Some(line) = lines.recv().await {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["ops", "http", url, ..] => {
                        ops = url.strip_suffix("/healthz").map(str::to_owned)
                    }
                    ["config", "http", url] => config_http = Some((*url).to_owned()),
                    ["auth", "http", url] => auth_http = Some((*url).to_owned()),
                    ["profile", "http", url] => profile_http = Some((*url).to_owned()),
                    [service, protocol, url] => {
                        urls.insert(format!("{service} {protocol}"), (*url).to_owned());
                    }
                    ["Press", ..] => return,
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), banner)
            .await
            .expect("no start-up banner");
        Self {
            child,
            ops: ops.expect("banner lacks ops url"),
            config_http: config_http.expect("banner lacks config url"),
            auth_http: auth_http.expect("banner lacks auth url"),
            profile_http: profile_http.expect("banner lacks profile url"),
            groups_http: urls.remove("groups http").expect("banner lacks groups url"),
            router_http: urls
                .remove("message-router http")
                .expect("banner lacks router url"),
            gateway_ws: urls.remove("gateway ws").expect("banner lacks gateway url"),
            lines,
        }
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
        let auth = self.auth_http.clone();
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
            .post(format!("{}/v1/auth/login", self.auth_http))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
