//! [`StaticGroups`]: members held in memory, behind the groups client
//! trait. For tests and tools — never for production, where the launcher
//! always uses the groups service.
//!
//! Group conversations have their members set with
//! [`StaticGroups::set_members`]. Direct conversations need no entry:
//! `d_<user-a>_<user-b>` (the two ids in ascending order, neither holding
//! `_`, see [`StaticGroups::direct_id`]) has exactly those two members.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chatflow_errors::ErrorKind;
use chatflow_groups_client::{
    Action, ClientError, Conversation, ConversationKind, Decision, DenyReason, GroupsClient,
    Member, Members, Role,
};
use parking_lot::RwLock;

/// The prefix of direct conversation ids.
const DIRECT_PREFIX: &str = "d_";

/// Members per conversation, in memory.
#[derive(Debug, Default)]
pub struct StaticGroups {
    groups: RwLock<HashMap<String, BTreeSet<String>>>,
    down: AtomicBool,
}

impl StaticGroups {
    /// No group conversations yet (direct ones work without setup).
    pub fn new() -> Self {
        Self::default()
    }

    /// The direct conversation id of two users, whichever order they are given in.
    pub fn direct_id(a: &str, b: &str) -> String {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        format!("{DIRECT_PREFIX}{low}_{high}")
    }

    /// Replaces the members of a group conversation.
    pub fn set_members<I, S>(&self, conversation_id: &str, members: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let members = members.into_iter().map(Into::into).collect();
        self.groups
            .write()
            .insert(conversation_id.to_owned(), members);
    }

    /// Adds one member to a group conversation.
    pub fn add_member(&self, conversation_id: &str, user_id: &str) {
        self.groups
            .write()
            .entry(conversation_id.to_owned())
            .or_default()
            .insert(user_id.to_owned());
    }

    /// Removes one member of a group conversation.
    pub fn remove_member(&self, conversation_id: &str, user_id: &str) {
        if let Some(members) = self.groups.write().get_mut(conversation_id) {
            members.remove(user_id);
        }
    }

    /// Makes every call fail as `Unavailable` (true) or answer again (false).
    pub fn set_unavailable(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check_up(&self) -> Result<(), ClientError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ClientError::new(ErrorKind::Unavailable, "groups is down"));
        }
        Ok(())
    }

    /// The members of a conversation, `None` when it does not exist.
    fn lookup(&self, conversation_id: &str) -> Option<Vec<String>> {
        if let Some(rest) = conversation_id.strip_prefix(DIRECT_PREFIX) {
            let (a, b) = rest.split_once('_')?;
            let valid = !a.is_empty() && !b.is_empty() && !b.contains('_') && a < b;
            return valid.then(|| vec![a.to_owned(), b.to_owned()]);
        }
        self.groups
            .read()
            .get(conversation_id)
            .map(|members| members.iter().cloned().collect())
    }
}

#[async_trait]
impl GroupsClient for StaticGroups {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        _action: Action,
    ) -> Result<Decision, ClientError> {
        self.check_up()?;
        Ok(match self.lookup(conversation_id) {
            None => Decision::deny(DenyReason::NotFound, None, 0),
            Some(members) if members.iter().any(|m| m == user_id) => {
                Decision::allow(Role::Member, 1)
            }
            Some(_) => Decision::deny(DenyReason::NotMember, None, 1),
        })
    }

    async fn members(&self, conversation_id: &str) -> Result<Members, ClientError> {
        self.check_up()?;
        let members = self
            .lookup(conversation_id)
            .ok_or_else(|| ClientError::new(ErrorKind::NotFound, "no such conversation"))?;
        Ok(Members {
            members: members
                .into_iter()
                .map(|user_id| Member {
                    user_id,
                    role: Role::Member,
                })
                .collect(),
            membership_version: 1,
        })
    }

    async fn ensure_direct(&self, user_a: &str, user_b: &str) -> Result<Conversation, ClientError> {
        self.check_up()?;
        let (low, high) = if user_a <= user_b {
            (user_a, user_b)
        } else {
            (user_b, user_a)
        };
        Ok(Conversation {
            conversation_id: Self::direct_id(low, high),
            kind: ConversationKind::Direct,
            membership_version: 1,
            member_ids: vec![low.to_owned(), high.to_owned()],
            created: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn direct_and_group_members() {
        let groups = StaticGroups::new();
        let direct = StaticGroups::direct_id("bob", "ann");
        assert_eq!(direct, "d_ann_bob");
        assert!(
            groups
                .authorize("ann", &direct, Action::Read)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            !groups
                .authorize("eve", &direct, Action::Read)
                .await
                .unwrap()
                .allowed
        );
        groups.set_members("g1", ["ann", "bob"]);
        groups.remove_member("g1", "bob");
        let members = groups.members("g1").await.unwrap();
        assert!(members.contains("ann") && !members.contains("bob"));
        assert_eq!(
            groups.members("nope").await.unwrap_err().kind,
            ErrorKind::NotFound
        );
        groups.set_unavailable(true);
        assert_eq!(
            groups.members("g1").await.unwrap_err().kind,
            ErrorKind::Unavailable
        );
    }
}
