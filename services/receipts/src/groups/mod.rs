//! Membership, as the groups service answers it: the one in this process
//! (its published `LocalGroups`) or one reached over gRPC (through
//! `CachedGroups`, see the launcher). Every call is bounded by a timeout, so
//! a slow groups service becomes a fast, typed, retriable `Unavailable`.
//! [`StaticGroups`] is an in-memory stand-in for tests.

mod fixed;

use std::time::Duration;

use chatflow_errors::ErrorKind;
use chatflow_groups_client::{Action, ClientError, GroupsClientRef, LocalGroups};
use chatflow_platform::Reach;

pub use fixed::StaticGroups;

use crate::ReceiptsError;

/// The groups service, adapted to what receipts asks of it.
#[derive(Clone)]
pub struct Groups {
    reach: Reach<GroupsClientRef>,
    timeout: Duration,
}

impl std::fmt::Debug for Groups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Groups")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Groups {
    /// Answers from the groups service reached through `reach`, each call
    /// bounded by `timeout`.
    pub fn new(reach: Reach<GroupsClientRef>, timeout: Duration) -> Self {
        Self { reach, timeout }
    }

    fn client(&self) -> Result<GroupsClientRef, ReceiptsError> {
        self.reach
            .resolve(|LocalGroups(client)| client)
            .ok_or_else(|| unavailable("no groups service in this process".into()))
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<Result<T, ClientError>, ReceiptsError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| unavailable(format!("no answer within {:?}", self.timeout)))
    }

    /// Whether `user_id` may read `conversation_id` (is a member).
    pub async fn is_member(
        &self,
        user_id: &str,
        conversation_id: &str,
    ) -> Result<bool, ReceiptsError> {
        let client = self.client()?;
        let answer = self
            .bounded(client.authorize(user_id, conversation_id, Action::Read))
            .await?;
        match answer {
            Ok(decision) => Ok(decision.allowed),
            Err(e) => Err(from_client(e)),
        }
    }

    /// The current members of `conversation_id` (empty if it does not exist).
    pub async fn members(&self, conversation_id: &str) -> Result<Vec<String>, ReceiptsError> {
        let client = self.client()?;
        match self.bounded(client.members(conversation_id)).await? {
            Ok(members) => Ok(members.members.into_iter().map(|m| m.user_id).collect()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(from_client(e)),
        }
    }

    /// Whether the member list holds `user_id`, with the list.
    pub async fn members_with(
        &self,
        conversation_id: &str,
        user_id: &str,
    ) -> Result<Option<Vec<String>>, ReceiptsError> {
        let members = self.members(conversation_id).await?;
        Ok(members.iter().any(|m| m == user_id).then_some(members))
    }
}

fn from_client(e: ClientError) -> ReceiptsError {
    match e.kind {
        ErrorKind::InvalidArgument => ReceiptsError::InvalidArgument(e.message),
        _ => unavailable(e.message),
    }
}

fn unavailable(reason: String) -> ReceiptsError {
    ReceiptsError::Unavailable {
        dependency: "groups",
        reason,
    }
}
