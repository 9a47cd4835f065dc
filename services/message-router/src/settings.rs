//! The `services.message-router` configuration section.

use std::time::Duration;

use chatflow_runtime::Secret;
use serde::{Deserialize, Serialize};

/// Settings of the message router; defaults suit a laptop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// REST address (history and sends for bots and tests).
    pub http_addr: String,
    /// gRPC address (`chatflow.messages.v1.RouterService`).
    pub grpc_addr: String,
    /// Largest accepted REST body.
    pub max_body_bytes: usize,
    /// How access tokens of REST callers are verified.
    pub auth: chatflow_authn::VerifierConfig,
    /// The internal secret services sign their gRPC calls with (at least 32
    /// bytes). Required with `--production`; in development the fleet's
    /// generated one in `<data_dir>/internal-secret` (see `Platform::service_identity`).
    pub internal_secret: Option<Secret<String>>,
    /// Content limits.
    pub limits: Limits,
    /// How long a `client_msg_id` is remembered for idempotent retries.
    pub idempotency_ttl_secs: u64,
    /// Retries of a write that lost the race for the conversation's next seq.
    pub sequencing: SequencingConfig,
    /// Priority lanes and the worker pool behind them.
    pub lanes: LaneConfig,
    /// Timeout and circuit breaker around the membership dependency.
    pub membership: MembershipConfig,
    /// The outbox relay.
    pub relay: RelayConfig,
    /// Services allowed to post system notices over gRPC (`SendSystem`).
    pub system_senders: Vec<String>,
    /// The groups service's gRPC URL; unset: the groups service in this process.
    pub groups_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7130".to_owned(),
            grpc_addr: "127.0.0.1:7131".to_owned(),
            max_body_bytes: 64 * 1024,
            auth: chatflow_authn::VerifierConfig::default(),
            internal_secret: None,
            limits: Limits::default(),
            idempotency_ttl_secs: 7 * 24 * 3600,
            sequencing: SequencingConfig::default(),
            lanes: LaneConfig::default(),
            membership: MembershipConfig::default(),
            relay: RelayConfig::default(),
            system_senders: vec!["groups".to_owned(), "admin".to_owned()],
            groups_url: None,
        }
    }
}

/// What a message may contain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest text, in characters (Unicode scalar values).
    pub max_text_chars: usize,
    /// Most mentioned users per message.
    pub max_mentions: usize,
    /// Most attachments per message.
    pub max_attachments: usize,
    /// Most edits one message may receive (each edit is its own message).
    pub max_edits: usize,
    /// Largest history page.
    pub max_page: u32,
    /// History page size when the caller gives none.
    pub default_page: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_chars: 4096,
            max_mentions: 50,
            max_attachments: 10,
            max_edits: 20,
            max_page: 200,
            default_page: 50,
        }
    }
}

/// Retries of a conversation write that lost a race with another instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencingConfig {
    /// Attempts per write, the first included; then a retriable error.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with full jitter.
    pub backoff_base_ms: u64,
    /// Longest backoff.
    pub backoff_max_ms: u64,
    /// Conversations whose lock and last seq are kept in memory.
    pub cached_conversations: usize,
    /// Writes that may wait for one conversation's lock in this process;
    /// more are refused as overload.
    pub max_waiting_per_conversation: usize,
}

impl Default for SequencingConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            backoff_base_ms: 4,
            backoff_max_ms: 200,
            cached_conversations: 10_000,
            max_waiting_per_conversation: 1_000,
        }
    }
}

impl SequencingConfig {
    /// The backoff cap for attempt `attempt` (1-based): exponential, capped.
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let factor = 2u64.saturating_pow(attempt.saturating_sub(1));
        Duration::from_millis(
            self.backoff_base_ms
                .saturating_mul(factor)
                .min(self.backoff_max_ms),
        )
    }
}

/// Priority lanes in front of a fixed pool of write workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LaneConfig {
    /// Workers writing to the store concurrently. Their writes share the
    /// store's group commits, so more workers mean bigger batches, not more syncs.
    pub workers: usize,
    /// Queued writes the urgent lane holds (system notices).
    pub urgent_capacity: usize,
    /// Queued writes the normal lane holds (direct and small groups).
    pub normal_capacity: usize,
    /// Queued writes the bulk lane holds (large groups).
    pub bulk_capacity: usize,
    /// Conversations with more members than this go to the bulk lane.
    pub bulk_member_threshold: usize,
    /// How long a conversation's member count is trusted for lane choice.
    pub member_count_ttl_secs: u64,
    /// Longest a write may wait (for its conversation and for a worker)
    /// before it is refused as `unavailable` with a retry hint, so overload
    /// shows as a fast typed error instead of sends queueing for seconds.
    pub max_wait_ms: u64,
}

impl Default for LaneConfig {
    fn default() -> Self {
        Self {
            workers: 64,
            urgent_capacity: 1024,
            normal_capacity: 4096,
            bulk_capacity: 4096,
            bulk_member_threshold: 256,
            member_count_ttl_secs: 30,
            max_wait_ms: 2_000,
        }
    }
}

/// Protection around the membership dependency.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MembershipConfig {
    /// Upper bound of one membership call.
    pub timeout_ms: u64,
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before letting one probe through.
    pub open_ms: u64,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 500,
            failure_threshold: 5,
            open_ms: 5_000,
        }
    }
}

/// How the outbox relay paces itself: the shared relay's settings.
pub use chatflow_outbox::kv::KvRelayConfig as RelayConfig;
