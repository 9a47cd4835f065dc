//! The `receipts` service: who received and who read what, per conversation.
//!
//! Each member of a conversation has one marks item: a **delivered** mark
//! (the highest seq any of their devices acknowledged, batched through
//! [`ReceiptsApi::mark_delivered`] by the gateway) and a **read** mark (the
//! highest seq they read on any device, [`ReceiptsApi::mark_read`] or REST).
//! Both are monotonic high-water marks: a lower or equal value changes
//! nothing and publishes nothing; reading implies delivery. Sending a text
//! message moves the sender's own marks to it (read from the router's
//! `chatflow.messages.created` feed), so nobody's own messages are unread.
//!
//! **Unread counts** are computed at query time from a per-conversation index
//! of countable (text) messages, each holding its ordinal: unread is the
//! conversation's last ordinal minus the ordinal at the reader's mark. That
//! makes them exact across devices and independent of the order in which
//! marks and messages arrive, with one item per message and one per member
//! — never one per message per member. See [`store::keys`] for the tables.
//!
//! Every mark change is written together with its `ReceiptsUpdated` event
//! in one store transaction (a transactional outbox) and relayed to
//! [`UPDATED_TOPIC`] by a leased relay per outbox shard, like the message
//! router's. Users may hide their read marks ([`ReceiptSettings`]); the
//! service enforces it in every view it serves, both ways.
//!
//! Choices worth knowing:
//!
//! - **Countable** messages are text messages, deleted ones included (they
//!   show as tombstones); edits, deletes, reactions and system notices are not.
//! - **New members** start with both marks at the conversation's last seq as
//!   this service knows it when it applies the join: what was said before
//!   they joined is not unread for them, and is not counted in "read by"
//!   aggregates. The first countable message of a conversation records
//!   marks from 0 for every member of the time (members from groups).
//! - **REST read marks** are untrusted: a seq beyond the highest seq seen on
//!   the message feed is refused (409 `beyond_head`), so a client racing the
//!   feed may have to retry. gRPC marks (the gateway) are trusted for seqs.
//! - **Aggregates** for one message count the members other than the viewer
//!   and the message's sender (known for text messages from the index).
//! - **Costs**: a member's unread count is one or two store reads; a total
//!   reads every conversation the user has marks in (bounded concurrency).
//!   Each published mark change carries the member's total, so each costs a
//!   total too (once per `MarkDelivered` batch).
//!
//! Callers hold a [`ReceiptsApiRef`]: the engine in process
//! ([`ReceiptsService::client`], published as [`ReceiptsHandle`]) or
//! [`GrpcReceiptsClient`]. Users reach the REST API under `/v1/receipts` and
//! `/v1/conversations/{id}/receipts` (see [`openapi`]).

mod client;
pub mod consumer;
mod convert;
mod engine;
mod error;
pub mod events;
pub mod groups;
mod grpc;
mod launcher;
mod metrics;
mod model;
mod relay;
mod rest;
mod service;
mod settings;
pub mod store;
mod validate;

pub use client::{ReceiptsApi, ReceiptsApiRef, ReceiptsHandle};
pub use error::ReceiptsError;
pub use events::{SETTINGS_CHANGED_TOPIC, TOPIC_PARTITIONS, UPDATED_TOPIC};
pub use groups::StaticGroups;
pub use grpc::GrpcReceiptsClient;
pub use launcher::ReceiptsLauncher;
pub use model::{
    ConversationReceipts, ConversationUnread, DeliveredMark, MarkDelivered, MarkRead,
    MarkReadOutcome, MemberMarks, MessageReceipts, ReceiptSettings, Snapshot, UnreadCounts,
};
pub use rest::openapi;
pub use service::{Deps, Listeners, ReceiptsService};
pub use settings::{Config, RelayConfig};
pub use validate::{MAX_BATCH, MAX_SNAPSHOT};
