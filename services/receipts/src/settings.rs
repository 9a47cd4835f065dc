//! The `services.receipts` configuration section.

use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

/// Settings of the receipts service; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST address (`/v1/receipts`, `/v1/conversations/{id}/read` and `.../receipts`).
    pub http_addr: String,
    /// gRPC address (`chatflow.receipts.v1.ReceiptsService`).
    pub grpc_addr: String,
    /// Largest accepted REST body.
    pub max_body_bytes: usize,
    /// How access tokens of REST callers are verified.
    pub auth: chatflow_authn::VerifierConfig,
    /// The internal secret services sign their gRPC calls with (at least 32
    /// bytes). Required with `--production`; in development the fleet's
    /// generated one in `<data_dir>/internal-secret`.
    pub internal_secret: Option<Secret<String>>,
    /// The groups service's gRPC URL; unset: the groups service in this process.
    pub groups_url: Option<String>,
    /// Upper bound of one call to the groups service.
    pub groups_timeout_ms: u64,
    /// The consumer group reading message and membership events.
    pub consumer_group: String,
    /// Conversations whose unread counts are computed concurrently for one
    /// user's total (each costs one or two store reads).
    pub unread_concurrency: usize,
    /// Retries of a mark write that lost a race with another writer.
    pub max_write_attempts: u32,
    /// The outbox relay.
    pub relay: RelayConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7150".to_owned(),
            grpc_addr: "127.0.0.1:7151".to_owned(),
            max_body_bytes: 16 * 1024,
            auth: chatflow_authn::VerifierConfig::default(),
            internal_secret: None,
            groups_url: None,
            groups_timeout_ms: 2_000,
            consumer_group: "receipts".to_owned(),
            unread_concurrency: 16,
            max_write_attempts: 10,
            relay: RelayConfig::default(),
        }
    }
}

/// How the outbox relay paces itself: the shared relay's settings.
pub use chatflow_outbox::kv::KvRelayConfig as RelayConfig;
