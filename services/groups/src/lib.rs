//! The `groups` service: conversations, membership, roles and permissions.
//!
//! Two kinds of conversation live here. A direct conversation belongs to
//! exactly two users; its id is derived from the pair
//! ([`chatflow_groups_client::direct_conversation_id`]) and it is created on
//! first use (`EnsureDirect`). A group has an owner, admins and members
//! (owner > admin > member), settings for who may post, add members and edit
//! its info, a member limit, and signed, expiring, revocable invite links.
//!
//! Other services ask "may user U do X in conversation C" through
//! [`chatflow_groups_client::GroupsClient`]: in process ([`GroupsService::client`])
//! or over gRPC (`chatflow.groups.v1.GroupsService`, service identity
//! required), usually behind `CachedGroups`. Every change of members, roles
//! or permissions increases the conversation's `membership_version` and is
//! published, through the transactional outbox, as
//! `chatflow.groups.membership_changed` keyed by conversation id: caches
//! invalidate on it and the message router turns it into system messages.
//! Blocks from the profile service (`chatflow.profile.user_blocked` /
//! `user_unblocked`) stop posting in the pair's direct conversation.
//! Clients use REST under `/v1/groups`, documented at `/v1/groups/openapi.json`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod consumer;
mod engine;
mod error;
mod grpc;
mod invite;
mod launcher;
mod metrics;
mod model;
mod policy;
mod requests;
mod rest;
mod service;
mod settings;
mod store;
mod validate;

pub use chatflow_groups_client::{MEMBERSHIP_CHANGED_PARTITIONS, MEMBERSHIP_CHANGED_TOPIC};
pub use error::GroupsError;
pub use invite::InviteKey;
pub use launcher::GroupsLauncher;
pub use model::{Audience, Permissions};
pub use rest::openapi;
pub use service::{Deps, GroupsService, Listeners};
pub use settings::Config;

/// Consumed: a user blocked another (the profile service's, keyed by blocker).
pub const USER_BLOCKED_TOPIC: &str = "chatflow.profile.user_blocked";
/// Consumed: a user lifted a block (keyed by blocker).
pub const USER_UNBLOCKED_TOPIC: &str = "chatflow.profile.user_unblocked";
/// Partitions used when this service is the first to create the profile
/// topics it reads (the profile service uses the same count).
pub const PROFILE_TOPIC_PARTITIONS: u32 = 4;
