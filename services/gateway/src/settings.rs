//! The `services.gateway` configuration section.

use serde::{Deserialize, Serialize};

/// Settings of the gateway; defaults suit a laptop and a phone on a train.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// WebSocket and HTTP address (`/v1/ws`).
    pub http_addr: String,
    /// How access tokens are verified (`jwks_url` in split mode).
    pub auth: chatflow_authn::VerifierConfig,
    /// The message router's gRPC URL; unset: the router in this process.
    pub router_url: Option<String>,
    /// The groups service's gRPC URL; unset: the groups service in this process.
    pub groups_url: Option<String>,
    /// Signs internal gRPC calls; required with `--production` when a URL is set.
    pub internal_secret: Option<chatflow_runtime::Secret<String>>,
    /// Largest text frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// Most conversations one `hello` or `resume` may name.
    pub max_resume_conversations: usize,
    /// Time allowed between connecting and `hello`.
    pub hello_timeout_secs: u64,
    /// A client must send something (a `ping` will do) this often.
    pub heartbeat_secs: u64,
    /// Silence after which the connection is closed (4009).
    pub idle_timeout_secs: u64,
    /// After the access token expires, time allowed to `refresh` before 4001.
    pub refresh_window_secs: u64,
    /// How often a live session's token is checked again for revocation.
    pub revalidate_secs: u64,
    /// Reliable frames queued per connection before "resume later" (4008).
    pub send_queue: usize,
    /// Ephemeral frames (presence, typing) queued per connection before dropping.
    pub ephemeral_queue: usize,
    /// Messages read from the store per page when replaying.
    pub replay_page: u32,
    /// Lifetime of this node's registry entries without a refresh.
    pub registry_ttl_secs: u64,
    /// On shutdown, clients are told to reconnect after a random delay up to this.
    pub drain_spread_ms: u64,
    /// On shutdown, connections still open this long after `drain` are closed.
    pub drain_deadline_secs: u64,
    /// Conversations with more members than this fan out in the bulk lane.
    pub bulk_fanout_members: usize,
    /// The receipts service's gRPC URL; unset: the one in this process.
    pub receipts_url: Option<String>,
    /// The profile service's gRPC URL (presence privacy); unset: in this process.
    pub profile_url: Option<String>,
    /// Conversations with more members than this push receipt changes
    /// only to the member's own devices (others ask the receipts API).
    pub receipts_fanout_members: usize,
    /// How long a typing indicator lasts without a repeat.
    pub typing_ttl_ms: u64,
    /// A connected device without user activity (sends, reads, typing,
    /// `presence: online`) this long shows as away; pings do not count.
    pub away_after_secs: u64,
    /// How long delivery acks are collected before one call to receipts.
    pub ack_flush_ms: u64,
    /// The presence replica of this node, when no presence service runs
    /// in the same process (whose replica is then shared).
    pub presence: chatflow_presence::PresenceSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:7140".to_owned(),
            auth: chatflow_authn::VerifierConfig::default(),
            router_url: None,
            groups_url: None,
            internal_secret: None,
            max_frame_bytes: 64 * 1024,
            max_resume_conversations: 1000,
            hello_timeout_secs: 10,
            heartbeat_secs: 25,
            idle_timeout_secs: 75,
            refresh_window_secs: 60,
            revalidate_secs: 10,
            send_queue: 1024,
            ephemeral_queue: 256,
            replay_page: 200,
            registry_ttl_secs: 60,
            drain_spread_ms: 5_000,
            drain_deadline_secs: 20,
            bulk_fanout_members: 256,
            receipts_url: None,
            profile_url: None,
            receipts_fanout_members: 256,
            typing_ttl_ms: 6_000,
            away_after_secs: 300,
            ack_flush_ms: 250,
            presence: chatflow_presence::PresenceSettings::default(),
        }
    }
}
