//! Presence: who is online, away or offline, and when each user was last
//! seen — ephemeral, replicated, and filtered by privacy.
//!
//! Two things live here:
//!
//! - [`PresenceNode`], the replica every gateway process and every presence
//!   service runs. Devices connect to it ([`PresenceNode::connect`]),
//!   viewers read ([`PresenceNode::get`]) and follow
//!   ([`PresenceNode::watch`]) it. Replicas hold a
//!   [`chatflow_presence_crdt::PresenceState`] — per (user, device) the
//!   report with the greatest hybrid-logical-clock stamp wins, every report
//!   carries an expiry its node keeps extending while the device is
//!   connected — and converge through the cache port (Redis in production,
//!   in-process when embedded): deltas on a pub/sub channel, snapshots in
//!   expiring keys, anti-entropy reads of every other node's snapshot. A
//!   node that dies stops extending, so its devices read offline everywhere
//!   within `device_ttl`, with their last activity as last-seen. Keys,
//!   channels and payload formats are in [`wire`]; how the node runs is in
//!   the `node` module's documentation.
//! - [`PresenceService`] (`chatflow serve presence`): a replica of its own
//!   behind `GET /v1/presence?user_ids=…` (for the token's user) and the
//!   internal gRPC `chatflow.presence.v1.PresenceService.Get`.
//!
//! Privacy: a viewer sees a user's status and last-seen only if the user's
//! `last_seen` setting admits them (everyone, contacts — the *owner* has the
//! viewer as a contact — or nobody) and neither blocked the other; anyone
//! else sees `offline` without last-seen, exactly like a user who never
//! connected. Answers come from the profile service through a
//! [`VisibilityPort`], are cached for `visibility_cache_ttl`, and are
//! dropped as soon as a profile event says they changed.
//!
//! Presence is ephemeral by design: watch updates are coalesced and dropped
//! rather than ever blocking a node, and pub/sub loss is repaired by the
//! snapshots, never by retries.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod events;
mod grpc;
mod launcher;
mod metrics;
mod node;
mod rest;
mod service;
mod settings;
mod view;
mod visibility;
pub mod wire;

pub use chatflow_presence_crdt::Status;
pub use error::PresenceError;
pub use events::PROFILE_TOPICS;
pub use launcher::PresenceLauncher;
pub use node::{DeviceGuard, NodeStats, PresenceNode, Watch};
pub use rest::openapi;
pub use service::{Deps, Listeners, PresenceService};
pub use settings::{Config, MAX_WATCH_USERS_LIMIT, PresenceSettings};
pub use view::{
    DEVICE_ID_MAX, MAX_USERS_PER_GET, PresenceView, USER_ID_MAX, check_device_id, check_user_id,
};
pub use visibility::{
    Audience, CallInterceptor, PROFILE_TIMEOUT, ProfileVisibility, ReachVisibility,
    StaticVisibility, VisibilityPort, VisibilityRef,
};

/// The replica a presence service runs, published in the platform's
/// handles so a gateway in the same process shares it instead of starting
/// its own.
#[derive(Clone, Debug)]
pub struct PresenceHandle(pub PresenceNode);

/// Partitions used when this service is the first to create the profile
/// topics it follows (the profile service uses the same count).
pub const PROFILE_TOPIC_PARTITIONS: u32 = 4;
