//! The `message-router` service: every message of a conversation, in one order.
//!
//! A write (send, edit, delete, reaction, system notice) is validated,
//! authorized through the [`Membership`] port (behind a timeout and a
//! circuit breaker), queued in a priority [`Lane`] and committed by a worker
//! in one message-store transaction that assigns the conversation's next
//! `seq` — gapless and strictly increasing, whatever number of router
//! instances race for it, because the head item's version is the seq and
//! each write conditions on it. The caller gets its [`SendAck`] only after
//! that commit; a retry with the same `client_msg_id` gets the same ack back
//! and stores nothing. The same transaction puts the event into an outbox
//! that a leased relay per shard publishes to `chatflow.messages.*`.
//!
//! Callers use a [`RouterClient`]: the engine itself in process
//! ([`RouterService::client`]), or [`GrpcRouterClient`] over gRPC. REST
//! (`/v1/conversations/{id}/messages`) serves history and sends for bots and
//! tests. Tables and key formats are described in [`store::keys`].

mod breaker;
mod client;
pub mod convert;
mod engine;
mod error;
pub mod events;
mod grpc;
mod lanes;
mod launcher;
pub mod membership;
mod metrics;
mod model;
pub mod notices;
mod relay;
mod rest;
mod sequencer;
mod service;
mod settings;
pub mod store;
mod validate;

pub use breaker::BreakerState;
pub use client::{RouterClient, RouterClientRef, RouterHandle};
pub use error::RouterError;
pub use grpc::GrpcRouterClient;
pub use lanes::{Lane, Lanes};
pub use launcher::RouterLauncher;
pub use membership::{
    Authorization, GroupsMembership, GuardedMembership, MemberAction, Membership, MembershipRef,
    StaticMembership,
};
pub use model::{
    Caller, DeleteRequest, EditRequest, HistoryPage, HistoryRequest, Message, MessageKind,
    ReactRequest, Reaction, SendAck, SendRequest, SystemNotice, VersionsRequest,
};
pub use rest::openapi;
pub use service::{Deps, Listeners, RouterService};
pub use settings::{Config, LaneConfig, Limits, MembershipConfig, RelayConfig, SequencingConfig};
