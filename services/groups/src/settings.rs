//! The `services.groups` configuration section.

use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

/// Settings of the groups service; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST API address (`/v1/groups`).
    pub http_addr: String,
    /// gRPC address (`chatflow.groups.v1.GroupsService`, internal callers only).
    pub grpc_addr: String,
    /// Largest accepted REST body.
    pub max_body_bytes: usize,
    /// How access tokens are verified (`jwks_url` in split mode; the auth
    /// service in this process otherwise).
    pub auth: chatflow_authn::VerifierConfig,
    /// The fleet's internal secret (at least 32 bytes) that signs and checks
    /// service identities on gRPC. Required with `--production`; in
    /// development the fleet's `<data_dir>/internal-secret` is used (created
    /// if absent), which every service of the fleet shares.
    pub internal_secret: Option<Secret<String>>,
    /// Base64 (standard alphabet) of the HMAC key that signs invite links, at
    /// least 32 bytes. Required with `--production`; in development one is
    /// generated into `<data_dir>/groups-invite-key`. Changing it invalidates
    /// every outstanding link.
    pub invite_key: Option<Secret<String>>,
    /// Most members a group may have.
    pub member_limit: u32,
    /// Most members a create or add request may name at once.
    pub max_members_per_request: u32,
    /// Lifetime of an invite link when the request does not say.
    pub invite_default_ttl_secs: u64,
    /// Longest lifetime an invite link may ask for.
    pub invite_max_ttl_secs: u64,
    /// Most entries in one page of the list endpoints.
    pub max_page_size: u32,
    /// Consumer group reading `chatflow.profile.user_blocked`/`user_unblocked`.
    pub consumer_group: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7110".to_owned(),
            grpc_addr: "127.0.0.1:7111".to_owned(),
            max_body_bytes: 64 * 1024,
            auth: chatflow_authn::VerifierConfig::default(),
            internal_secret: None,
            invite_key: None,
            member_limit: 1024,
            max_members_per_request: 256,
            invite_default_ttl_secs: 7 * 24 * 3600,
            invite_max_ttl_secs: 365 * 24 * 3600,
            max_page_size: 500,
            consumer_group: "groups".to_owned(),
        }
    }
}
