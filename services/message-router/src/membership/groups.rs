//! [`GroupsMembership`]: the membership port answered by the groups service,
//! in this process or over gRPC, in both cases through `CachedGroups`, whose
//! answers are invalidated by `chatflow.groups.membership_changed`: a send
//! costs no query of the groups store while its conversation is unchanged.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_errors::ErrorKind;
use chatflow_events::EventBusRef;
use chatflow_groups_client::{Action, CacheOptions, CachedGroups, GroupsClientRef, LocalGroups};
use chatflow_platform::Reach;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::{Authorization, MemberAction, Membership};
use crate::RouterError;

/// Membership from the groups service.
pub struct GroupsMembership {
    groups: Reach<GroupsClientRef>,
    /// With these, the in-process service is wrapped in a cache on first use.
    cache_with: Option<(EventBusRef, CancellationToken)>,
    cached: OnceCell<GroupsClientRef>,
}

impl GroupsMembership {
    /// Answers from the groups service reached through `groups` (a remote
    /// one is expected to be cached already).
    pub fn new(groups: Reach<GroupsClientRef>) -> Self {
        Self {
            groups,
            cache_with: None,
            cached: OnceCell::new(),
        }
    }

    /// Like [`Self::new`], and an in-process service's answers are cached
    /// too, invalidated from `bus` until `shutdown`.
    pub fn cached(
        groups: Reach<GroupsClientRef>,
        bus: EventBusRef,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            cache_with: Some((bus, shutdown)),
            ..Self::new(groups)
        }
    }

    async fn client(&self) -> Result<GroupsClientRef, RouterError> {
        let resolved = self
            .groups
            .resolve(|LocalGroups(client)| client)
            .ok_or_else(|| unavailable("no groups service in this process".into()))?;
        let (Reach::InProcess(_), Some((bus, shutdown))) = (&self.groups, &self.cache_with) else {
            return Ok(resolved);
        };
        let cached = self
            .cached
            .get_or_try_init(|| async {
                let cache = CachedGroups::spawn(
                    resolved,
                    bus.clone(),
                    CacheOptions::default(),
                    shutdown.clone(),
                )
                .await
                .map_err(|e| unavailable(e.message))?;
                Ok::<_, RouterError>(Arc::new(cache) as GroupsClientRef)
            })
            .await?;
        Ok(cached.clone())
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
            .client()
            .await?
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
        match self.client().await?.members(conversation_id).await {
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
