//! The membership port: may this user post in or read this conversation?
//!
//! The router owns this small trait instead of depending on the groups
//! crate: the groups client is adapted to it where the router is built.
//! [`GuardedMembership`] wraps any implementation with a timeout and a
//! circuit breaker, so a slow or failing dependency becomes a fast, typed,
//! retriable error. [`GroupsMembership`] asks the groups service;
//! [`StaticMembership`] is a test adapter.

mod fixed;
mod groups;
mod guard;

use std::sync::Arc;

use async_trait::async_trait;

pub use fixed::StaticMembership;
pub use groups::GroupsMembership;
pub use guard::GuardedMembership;

use crate::RouterError;

/// What the caller wants to do in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberAction {
    /// Send, edit, delete or react.
    Post,
    /// Read history.
    Read,
}

impl MemberAction {
    /// The name used in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Read => "read",
        }
    }
}

/// The answer to "may this user do this here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why not, when known (shown to the caller).
    pub reason: Option<String>,
}

impl Authorization {
    /// Allowed.
    pub fn allow() -> Self {
        Self {
            allowed: true,
            reason: None,
        }
    }

    /// Refused, with a reason.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: Some(reason.into()),
        }
    }
}

/// Answers membership questions; the groups service in production.
#[async_trait]
pub trait Membership: Send + Sync {
    /// Whether `user_id` may do `action` in `conversation_id`. A refusal is
    /// an answer (`allowed = false`), not an error; errors mean "unknown".
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: MemberAction,
    ) -> Result<Authorization, RouterError>;

    /// The current members of `conversation_id` (empty if it does not exist).
    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, RouterError>;
}

/// A shared handle on a membership implementation.
pub type MembershipRef = Arc<dyn Membership>;
