//! The groups service's client side.
//!
//! Business code holds a [`GroupsClientRef`] and never knows whether the
//! groups service runs in the same process (the service implements
//! [`GroupsClient`] itself and publishes it as [`LocalGroups`]) or elsewhere
//! ([`GrpcGroupsClient`], signed with the caller's service identity). Hot
//! paths wrap either in [`CachedGroups`], which keeps answers in memory and
//! drops them when `chatflow.groups.membership_changed` says they changed.
//!
//! Conversation ids need no call: [`direct_conversation_id`] derives the id
//! of two users' direct conversation, the same on every node.

mod cache;
pub mod convert;
mod error;
mod grpc;
mod id;
pub mod metrics;
mod model;

use std::sync::Arc;

use async_trait::async_trait;

pub use cache::{CacheOptions, CachedGroups};
pub use error::ClientError;
pub use grpc::{CallInterceptor, DEFAULT_TIMEOUT, GrpcGroupsClient};
pub use id::{
    CONVERSATION_ID_LEN, USER_ID_MAX, check_user_id, conversation_kind, direct_conversation_id,
    new_group_id,
};
pub use model::{
    Action, Conversation, ConversationKind, Decision, DenyReason, Member, Members, Role,
};

/// Every change of a conversation's members, roles, permissions or info,
/// keyed by conversation id (`chatflow.groups.v1.MembershipChanged`).
pub const MEMBERSHIP_CHANGED_TOPIC: &str = "chatflow.groups.membership_changed";
/// Partitions of [`MEMBERSHIP_CHANGED_TOPIC`] when it is created.
pub const MEMBERSHIP_CHANGED_PARTITIONS: u32 = 8;

/// Who may do what in which conversation: the groups service, local or remote.
#[async_trait]
pub trait GroupsClient: Send + Sync + 'static {
    /// Whether `user_id` may do `action` in `conversation_id`. A refusal is
    /// an `Ok` answer with `allowed == false`; an unknown conversation is
    /// refused with [`DenyReason::NotFound`]. Errors only for malformed ids
    /// or an unreachable service.
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: Action,
    ) -> Result<Decision, ClientError>;

    /// Every member of a conversation; `NotFound` for an unknown one.
    async fn members(&self, conversation_id: &str) -> Result<Members, ClientError>;

    /// The direct conversation of two users, created on first use; the same
    /// conversation whichever order the users are given in.
    async fn ensure_direct(&self, user_a: &str, user_b: &str) -> Result<Conversation, ClientError>;
}

/// A shared handle to a [`GroupsClient`].
pub type GroupsClientRef = Arc<dyn GroupsClient>;

/// The groups service as published by itself in this process (all-in-one
/// mode), for other services to find in the platform's handle registry.
#[derive(Clone)]
pub struct LocalGroups(pub GroupsClientRef);
