//! The `services.profile` configuration section.

use chatflow_rate_limit::PolicySpec;
use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

/// Settings of the profile service; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST API address.
    pub http_addr: String,
    /// gRPC address (`chatflow.profile.v1.ProfileService`, internal callers only).
    pub grpc_addr: String,
    /// The fleet's internal secret (at least 32 bytes) that checks service
    /// identities on gRPC. Required with `--production`; in development the
    /// fleet's `<data_dir>/internal-secret` is used (created if absent).
    pub internal_secret: Option<Secret<String>>,
    /// Largest accepted REST body. A full discovery batch (1000 hashes of
    /// 64 hex characters) is about 70 KiB.
    pub max_body_bytes: usize,
    /// How access tokens are verified (`jwks_url` in split mode; the auth
    /// service in this process otherwise).
    pub auth: chatflow_authn::VerifierConfig,
    /// Contact discovery.
    pub discovery: DiscoveryConfig,
    /// The config service's gRPC URL for live rate-limit policies
    /// (`ratelimit.policies` flag), e.g. `http://config:7081`. Unset: the
    /// config service in this process, or else the `services.config.grpc_addr`
    /// of this fleet's configuration (or its default). Empty: the policy in
    /// `discovery.rate_limit` only.
    pub flags_url: Option<String>,
    /// Consumer group reading `chatflow.auth.account_verified`.
    pub consumer_group: String,
    /// Most entries in one page of `GET /v1/contacts` and `GET /v1/blocks`.
    pub max_page_size: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7100".to_owned(),
            grpc_addr: "127.0.0.1:7101".to_owned(),
            internal_secret: None,
            max_body_bytes: 128 * 1024,
            auth: chatflow_authn::VerifierConfig::default(),
            discovery: DiscoveryConfig::default(),
            flags_url: None,
            consumer_group: "profile".to_owned(),
            max_page_size: 500,
        }
    }
}

/// Settings of contact discovery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// Base64 (standard alphabet) of the HMAC key, at least 32 bytes.
    /// Required with `--production`; in development one is generated into
    /// `<data_dir>/profile-discovery-key`. Changing it empties the directory
    /// until `chatflow.auth.account_verified` is replayed from the start (see [`crate::DiscoveryKey`]).
    pub key: Option<Secret<String>>,
    /// Most hashes in one `POST /v1/contacts/discover` (also capped by the
    /// rate-limit policy's burst, since a larger batch could never pass).
    pub max_batch: u32,
    /// The `profile.discovery.user_day` policy: hashes per user per period.
    /// The `ratelimit.policies` flag overrides it live.
    pub rate_limit: PolicySpec,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        let rate_limit = chatflow_rate_limit::default_policies()
            .remove(crate::DISCOVERY_ACTION)
            .unwrap_or_else(|| PolicySpec::new(2000, 24 * 3600 * 1000).with_burst(1000));
        Self {
            key: None,
            max_batch: 1000,
            rate_limit,
        }
    }
}
