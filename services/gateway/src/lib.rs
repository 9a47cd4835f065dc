//! The `gateway` service: the WebSocket edge every client connects to.
//!
//! A client opens `/v1/ws`, says `hello` with its access token (checked by
//! the shared verifier) and the positions it has, and gets everything after
//! them replayed, then live traffic — with no gap or duplicate at the seam
//! (see [`delivery`]). Sends go to the message router and are acked only
//! once stored. Each connection has bounded send queues and a documented
//! slow-consumer policy ([`queue`]); a node learns which of its users a
//! message is for through the connection registry ([`registry`]) and its
//! own channel ([`hub`]), so no node sees all traffic. On shutdown the node
//! drains: clients are told to reconnect after a jittered delay and resume.
//! The protocol is `docs/protocol.md`.

pub mod acks;
pub mod adapters;
pub mod clock;
mod connection;
pub mod convert;
pub mod delivery;
pub mod fanout;
pub mod hub;
mod launcher;
pub mod live_adapters;
pub mod metrics;
pub mod ports;
pub mod protocol;
pub mod queue;
pub mod receipt_fanout;
pub mod registry;
pub mod revocation;
mod service;
mod settings;
pub mod typing;

pub use launcher::GatewayLauncher;
pub use service::{
    Deps, FanoutDeps, GatewayService, Listeners, MAX_WRITE_BUFFER_BYTES, READ_BUFFER_BYTES,
    WRITE_BUFFER_BYTES,
};
pub use settings::Config;
