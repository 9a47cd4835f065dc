//! The business logic behind REST, gRPC and in-process callers.
//!
//! [`Engine`] answers the three questions other services ask (it is the
//! in-process [`GroupsClient`]) and carries out every change clients make:
//! group lifecycle ([`lifecycle`], [`reads`]), direct conversations
//! ([`direct`]), membership and roles ([`membership`]), invite links
//! ([`invites`]) and blocks from the profile service ([`blocks`]). Each change runs in one transaction that locks the
//! conversation, checks the rules in [`crate::policy`], writes, and enqueues
//! its `MembershipChanged` event ([`events`]).

pub mod blocks;
pub mod direct;
mod events;
pub mod invites;
pub mod lifecycle;
pub mod membership;
pub mod reads;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chatflow_groups_client::{
    Action, ClientError, Conversation, Decision, GroupsClient, Member, Members, Role,
};

use crate::invite::InviteKey;
use crate::store::{ConversationRow, GroupsStore, Tx, blocks as block_rows, members};
use crate::{Config, GroupsError, policy, validate};

/// Storage, settings and the invite key; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) store: GroupsStore,
    pub(crate) config: Arc<Config>,
    pub(crate) invites: InviteKey,
}

impl Engine {
    /// Builds the engine.
    pub fn new(store: GroupsStore, config: Config, invites: InviteKey) -> Self {
        Self {
            store,
            config: Arc::new(config),
            invites,
        }
    }

    /// Whether `user_id` may do `action` in `conversation_id`.
    pub async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: Action,
    ) -> Result<Decision, GroupsError> {
        validate::user_id("user_id", user_id)?;
        chatflow_groups_client::conversation_kind(conversation_id)?;
        let pool = self.store.pool();
        let found = members::facts_for(pool, conversation_id, user_id).await?;
        let decision = match &found {
            None => policy::decide(None, None, false, action),
            Some((facts, role, (low, high))) => {
                // Only posting in a direct conversation depends on blocks.
                let blocked = action == Action::Post
                    && role.is_some()
                    && !low.is_empty()
                    && block_rows::between(pool, low, high).await?;
                policy::decide(Some(facts), *role, blocked, action)
            }
        };
        let outcome = decision.reason.map_or("allowed", |r| r.as_str());
        metrics::counter!(crate::metrics::AUTHORIZATIONS, "action" => action.as_str(), "outcome" => outcome)
            .increment(1);
        Ok(decision)
    }

    /// Every member of a conversation; `NotFound` for an unknown one.
    pub async fn members(&self, conversation_id: &str) -> Result<Members, GroupsError> {
        chatflow_groups_client::conversation_kind(conversation_id)?;
        let (version, rows) = members::all(self.store.pool(), conversation_id)
            .await?
            .ok_or_else(GroupsError::no_conversation)?;
        Ok(Members {
            members: rows
                .into_iter()
                .map(|m| Member {
                    user_id: m.user_id,
                    role: m.role,
                })
                .collect(),
            membership_version: version,
        })
    }
}

/// The in-process handle: what the gRPC face serves, without the network.
#[async_trait]
impl GroupsClient for Engine {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: Action,
    ) -> Result<Decision, ClientError> {
        Ok(Engine::authorize(self, user_id, conversation_id, action).await?)
    }

    async fn members(&self, conversation_id: &str) -> Result<Members, ClientError> {
        Ok(Engine::members(self, conversation_id).await?)
    }

    async fn ensure_direct(&self, user_a: &str, user_b: &str) -> Result<Conversation, ClientError> {
        Ok(Engine::ensure_direct(self, user_a, user_b).await?)
    }
}

/// Checks shared by the changes.
impl Engine {
    /// Locks a group and checks that `user` may do `action` in it; returns
    /// the group and the user's role.
    pub(crate) async fn locked(
        &self,
        tx: &mut Tx,
        id: &str,
        user: &str,
        action: Action,
        what: &str,
    ) -> Result<(ConversationRow, Role), GroupsError> {
        let row = self
            .store
            .lock(tx, id)
            .await?
            .ok_or_else(GroupsError::no_conversation)?;
        let role = members::role_of(&mut **tx, id, user).await?;
        let role = policy::require(
            &policy::decide(Some(&row.facts()), role, false, action),
            what,
        )?;
        Ok((row, role))
    }

    /// Validated, de-duplicated user ids, without `exclude`, within the request bound.
    pub(crate) fn member_list(
        &self,
        field: &str,
        ids: &[String],
        exclude: Option<&str>,
    ) -> Result<Vec<String>, GroupsError> {
        let max = self.config.max_members_per_request as usize;
        if ids.len() > max {
            return Err(GroupsError::field(
                field,
                format!("names {} users; at most {max} per request", ids.len()),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, id) in ids.iter().enumerate() {
            validate::user_id(&format!("{field}[{i}]"), id)?;
            if Some(id.as_str()) != exclude {
                seen.insert(id.clone());
            }
        }
        Ok(seen.into_iter().collect())
    }
}

/// The wall clock in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    chatflow_runtime::clock::now_ms()
}
