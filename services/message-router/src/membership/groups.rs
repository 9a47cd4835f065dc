//! [`GroupsMembership`]: the membership port answered by the groups service,
//! in this process or over gRPC (wrapped in `CachedGroups`, whose answers
//! are invalidated by `chatflow.groups.membership_changed`).

use async_trait::async_trait;
use chatflow_errors::ErrorKind;
use chatflow_groups_client::{Action, GroupsClientRef, LocalGroups};
use chatflow_platform::Reach;

use super::{Authorization, MemberAction, Membership};
use crate::RouterError;

/// Membership from the groups service.
pub struct GroupsMembership {
    groups: Reach<GroupsClientRef>,
}

impl GroupsMembership {
    /// Answers from the groups service reached through `groups`.
    pub fn new(groups: Reach<GroupsClientRef>) -> Self {
        Self { groups }
    }

    fn client(&self) -> Result<GroupsClientRef, RouterError> {
        self.groups
            .resolve(|LocalGroups(client)| client)
            .ok_or_else(|| unavailable("no groups service in this process".into()))
    }
}

#[async_trait]
impl Membership for GroupsMembership {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: MemberAction,
    ) -> Result<Authorization, RouterError> {
        let action = match action {
            MemberAction::Post => Action::Post,
            MemberAction::Read => Action::Read,
        };
        let decision = self
            .client()?
            .authorize(user_id, conversation_id, action)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::InvalidArgument => RouterError::InvalidArgument(e.message),
                _ => unavailable(e.message),
            })?;
        Ok(if decision.allowed {
            Authorization::allow()
        } else {
            let reason = decision.reason.map_or("not allowed", |r| r.as_str());
            Authorization::deny(format!("{action:?} refused in {conversation_id}: {reason}"))
        })
    }

    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, RouterError> {
        match self.client()?.members(conversation_id).await {
            Ok(members) => Ok(members.members.into_iter().map(|m| m.user_id).collect()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(unavailable(e.message)),
        }
    }
}

fn unavailable(reason: String) -> RouterError {
    RouterError::DependencyUnavailable {
        dependency: "groups",
        reason,
    }
}
