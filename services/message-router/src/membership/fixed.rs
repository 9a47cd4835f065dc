//! [`StaticMembership`]: members held in memory. For tests, and for `chatflow
//! up` until the groups service is wired in — never for production, which
//! the launcher refuses.
//!
//! Group conversations have the members set with
//! [`StaticMembership::set_members`]. Direct conversations need no entry:
//! `d_<user-a>_<user-b>` (the two user ids in ascending order, neither
//! containing `_`, see [`StaticMembership::direct_id`]) admits exactly those
//! two users.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use parking_lot::RwLock;

use super::{Authorization, MemberAction, Membership};
use crate::RouterError;

/// The prefix of direct conversation ids.
pub const DIRECT_PREFIX: &str = "d_";

/// Members per conversation, in memory.
#[derive(Debug, Default)]
pub struct StaticMembership {
    groups: RwLock<HashMap<String, BTreeSet<String>>>,
}

impl StaticMembership {
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

    /// Removes one member of a group conversation.
    pub fn remove_member(&self, conversation_id: &str, user_id: &str) {
        if let Some(members) = self.groups.write().get_mut(conversation_id) {
            members.remove(user_id);
        }
    }

    /// The two users of a well-formed direct id.
    fn direct_pair(conversation_id: &str) -> Option<(&str, &str)> {
        let rest = conversation_id.strip_prefix(DIRECT_PREFIX)?;
        let (a, b) = rest.split_once('_')?;
        let valid = !a.is_empty() && !b.is_empty() && !b.contains('_') && a < b;
        valid.then_some((a, b))
    }
}

#[async_trait]
impl Membership for StaticMembership {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: MemberAction,
    ) -> Result<Authorization, RouterError> {
        let denied = || {
            Authorization::deny(format!(
                "user {user_id} may not {} in conversation {conversation_id}: not a member",
                action.as_str()
            ))
        };
        if conversation_id.starts_with(DIRECT_PREFIX) {
            return Ok(match Self::direct_pair(conversation_id) {
                Some((a, b)) if user_id == a || user_id == b => Authorization::allow(),
                _ => denied(),
            });
        }
        let member = self
            .groups
            .read()
            .get(conversation_id)
            .is_some_and(|members| members.contains(user_id));
        Ok(if member {
            Authorization::allow()
        } else {
            denied()
        })
    }

    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, RouterError> {
        if let Some((a, b)) = Self::direct_pair(conversation_id) {
            return Ok(vec![a.to_owned(), b.to_owned()]);
        }
        Ok(self
            .groups
            .read()
            .get(conversation_id)
            .map(|members| members.iter().cloned().collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn direct_conversations_admit_exactly_their_two_users() {
        let membership = StaticMembership::new();
        let direct = StaticMembership::direct_id("bob", "ann");
        assert_eq!(direct, "d_ann_bob");
        for (user, allowed) in [("ann", true), ("bob", true), ("eve", false)] {
            let answer = membership
                .authorize(user, &direct, MemberAction::Post)
                .await
                .unwrap();
            assert_eq!(answer.allowed, allowed, "{user}");
        }
        // Not in canonical order, or not a pair: nobody.
        for id in ["d_bob_ann", "d_ann", "d_ann_bob_eve", "d__bob"] {
            let answer = membership
                .authorize("ann", id, MemberAction::Read)
                .await
                .unwrap();
            assert!(!answer.allowed, "{id}");
        }
        assert_eq!(membership.members(&direct).await.unwrap(), ["ann", "bob"]);
    }

    #[tokio::test]
    async fn groups_follow_their_member_set() {
        let membership = StaticMembership::new();
        membership.set_members("g1", ["ann", "bob"]);
        assert!(
            membership
                .authorize("bob", "g1", MemberAction::Post)
                .await
                .unwrap()
                .allowed
        );
        membership.remove_member("g1", "bob");
        let answer = membership
            .authorize("bob", "g1", MemberAction::Read)
            .await
            .unwrap();
        assert!(!answer.allowed);
        assert!(answer.reason.unwrap().contains("not a member"));
        assert_eq!(membership.members("g1").await.unwrap(), ["ann"]);
        assert!(membership.members("nope").await.unwrap().is_empty());
    }
}
