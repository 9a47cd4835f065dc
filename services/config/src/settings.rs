//! The `services.config` configuration section.

use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

/// Settings of the config service; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST admin API address.
    pub http_addr: String,
    /// gRPC (Evaluate, Watch) address.
    pub grpc_addr: String,
    /// Break-glass bearer token for the admin API, besides access tokens
    /// with the `operator` role. Required with `--production`; in
    /// development one is generated into `<data_dir>/operator-token`.
    pub admin_token: Option<Secret<String>>,
    /// Largest accepted REST body.
    pub max_body_bytes: usize,
    /// How access tokens of operators are verified (`jwks_url` in split
    /// mode; the auth service in this process otherwise).
    pub auth: chatflow_authn::VerifierConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7080".to_owned(),
            grpc_addr: "127.0.0.1:7081".to_owned(),
            admin_token: None,
            max_body_bytes: 1024 * 1024,
            auth: chatflow_authn::VerifierConfig::default(),
        }
    }
}
