//! A whole ChatFlow deployment for end-to-end tests, in either shape:
//! [`Deployment::embedded`] is `chatflow up` (one process, embedded
//! backends); [`Deployment::split`] is a core process (auth, config,
//! rate-limit, profile, groups, receipts, presence), a message router and
//! gateways, each its own process, on Kafka, PostgreSQL, Redis and DynamoDB
//! Local, talking gRPC. Split gateways run their own presence replicas with
//! a short device TTL (3 s), so a killed gateway's users go offline quickly.
//! Tests ask for URLs by `"<service> <protocol>"` and never know which.

use crate::process::Fleet;

/// The running processes; the first holds auth (its log has the codes).
pub struct Deployment {
    /// Core (or the whole fleet), then router, then gateways when split.
    pub fleets: Vec<Fleet>,
    _data: tempfile::TempDir,
}

impl Deployment {
    /// `chatflow up` on embedded backends.
    pub async fn embedded() -> Self {
        let data = tempfile::tempdir().unwrap();
        let fleet = Fleet::up(data.path()).await;
        Self {
            fleets: vec![fleet],
            _data: data,
        }
    }

    /// Separate processes on the real backends, with `gateways` gateway
    /// nodes. The router and gateways listen on fixed ports, so each can be
    /// killed and restarted where clients and peers expect it.
    #[cfg(feature = "kafka")]
    pub async fn split(gateways: usize) -> Self {
        let data = tempfile::tempdir().unwrap();
        let shared = backends();
        let core_services = [
            "serve",
            "auth",
            "config",
            "rate-limit",
            "profile",
            "groups",
            "receipts",
            "presence",
        ];
        let core = Fleet::start(data.path(), &core_services, &shared).await;
        let jwks = format!("{}/.well-known/jwks.json", core.url("auth http"));
        let groups = core.url("groups grpc");
        let receipts = core.url("receipts grpc");
        let profile = core.url("profile grpc");
        let router_grpc = fixed_addr();
        let router_env = with(
            &shared,
            &[
                ("CHATFLOW_SERVICES__MESSAGE_ROUTER__AUTH__JWKS_URL", &jwks),
                ("CHATFLOW_SERVICES__MESSAGE_ROUTER__GROUPS_URL", &groups),
                ("CHATFLOW_SERVICES__MESSAGE_ROUTER__GRPC_ADDR", &router_grpc),
                (
                    "CHATFLOW_SERVICES__MESSAGE_ROUTER__HTTP_ADDR",
                    &fixed_addr(),
                ),
            ],
        );
        let router = Fleet::start(data.path(), &["serve", "message-router"], &router_env).await;
        let mut fleets = vec![core, router];
        for _ in 0..gateways {
            let gateway_env = with(
                &shared,
                &[
                    ("CHATFLOW_SERVICES__GATEWAY__AUTH__JWKS_URL", &jwks),
                    ("CHATFLOW_SERVICES__GATEWAY__GROUPS_URL", &groups),
                    (
                        "CHATFLOW_SERVICES__GATEWAY__ROUTER_URL",
                        &format!("http://{router_grpc}"),
                    ),
                    ("CHATFLOW_SERVICES__GATEWAY__HTTP_ADDR", &fixed_addr()),
                    ("CHATFLOW_SERVICES__GATEWAY__RECEIPTS_URL", &receipts),
                    ("CHATFLOW_SERVICES__GATEWAY__PROFILE_URL", &profile),
                    (
                        "CHATFLOW_SERVICES__GATEWAY__PRESENCE__DEVICE_TTL_MS",
                        &"3000".to_owned(),
                    ),
                    (
                        "CHATFLOW_SERVICES__GATEWAY__PRESENCE__ANTI_ENTROPY_MS",
                        &"500".to_owned(),
                    ),
                ],
            );
            fleets.push(Fleet::start(data.path(), &["serve", "gateway"], &gateway_env).await);
        }
        Self {
            fleets,
            _data: data,
        }
    }

    /// The URL some process printed for `"<service> <protocol>"`.
    pub fn url(&self, what: &str) -> String {
        self.fleets
            .iter()
            .find_map(|fleet| fleet.try_url(what))
            .unwrap_or_else(|| panic!("no process serves {what}"))
    }

    /// Registers, verifies and logs in `email`; returns (user id, access token).
    pub async fn account(&mut self, email: &str) -> (String, String) {
        self.fleets[0].account(email).await
    }

    /// Logs in `email` again as another device; returns its access token.
    pub async fn login_device(&mut self, email: &str, device_id: &str) -> String {
        self.fleets[0].login_device(email, device_id).await
    }

    /// Creates a group named `name` with `members` as `token`'s user; its id.
    pub async fn group(&self, token: &str, name: &str, members: &[&str]) -> String {
        let body = serde_json::json!({"name": name, "member_ids": members});
        self.conversation(token, "/v1/groups", body).await
    }

    /// The direct conversation of `token`'s user with `user_id`; its id.
    pub async fn direct(&self, token: &str, user_id: &str) -> String {
        let body = serde_json::json!({"user_id": user_id});
        self.conversation(token, "/v1/groups/direct", body).await
    }

    async fn conversation(&self, token: &str, path: &str, body: serde_json::Value) -> String {
        let created: serde_json::Value = reqwest::Client::new()
            .post(format!("{}{path}", self.url("groups http")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned()
    }

    /// Stops every process with SIGTERM, gateways first.
    pub async fn stop(self) {
        for fleet in self.fleets.into_iter().rev() {
            fleet.stop().await;
        }
    }
}

/// The backends every process shares, isolated by a unique prefix.
#[cfg(feature = "kafka")]
fn backends() -> Vec<(String, String)> {
    let unique = chatflow_testkit::unique_name();
    [
        ("CHATFLOW_BACKENDS__BUS_URL", chatflow_testkit::kafka_url()),
        (
            "CHATFLOW_BACKENDS__SQL_URL",
            chatflow_testkit::postgres_url(),
        ),
        (
            "CHATFLOW_BACKENDS__CACHE_URL",
            chatflow_testkit::redis_url(),
        ),
        (
            "CHATFLOW_BACKENDS__KV_URL",
            "dynamodb://127.0.0.1:8000".to_owned(),
        ),
        ("CHATFLOW_BACKENDS__SCHEMA_PREFIX", format!("{unique}_")),
        ("CHATFLOW_BACKENDS__TOPIC_PREFIX", format!("{unique}.")),
        ("CHATFLOW_BACKENDS__CACHE_PREFIX", format!("{unique}:")),
        ("CHATFLOW_BACKENDS__TABLE_PREFIX", format!("{unique}_")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(feature = "kafka")]
fn with(base: &[(String, String)], extra: &[(&str, &String)]) -> Vec<(String, String)> {
    let mut env = base.to_vec();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).clone())));
    env
}

#[cfg(feature = "kafka")]
fn fixed_addr() -> String {
    format!("127.0.0.1:{}", chatflow_testkit::server::free_port())
}
