//! What members read: a group, its members, the caller's conversations.

use chatflow_groups_client::ConversationKind;

use super::Engine;
use crate::model::{ConversationPage, ConversationSummary, Group, MemberPage, MemberView};
use crate::store::{conversations, members};
use crate::{GroupsError, validate};

impl Engine {
    /// A group as `user` (a member) sees it.
    pub async fn group(&self, user: &str, id: &str) -> Result<Group, GroupsError> {
        let id = validate::group_id(id)?;
        let row = conversations::fetch(self.store.pool(), &id)
            .await?
            .ok_or_else(GroupsError::no_conversation)?;
        let role = members::role_of(self.store.pool(), &id, user)
            .await?
            .ok_or_else(GroupsError::no_conversation)?;
        Ok(row.to_group(role, self.config.member_limit))
    }

    /// A page of `user`'s conversations, by id.
    pub async fn conversations(
        &self,
        user: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<ConversationPage, GroupsError> {
        let limit = self.page_size(limit)?;
        let rows =
            members::conversations_of(self.store.pool(), user, cursor.unwrap_or(""), limit).await?;
        let next_cursor = (rows.len() == limit as usize)
            .then(|| rows.last().map(|(c, _)| c.id.clone()))
            .flatten();
        let conversations = rows
            .into_iter()
            .map(|(c, role)| {
                let peer = (c.kind == ConversationKind::Direct).then(|| {
                    if c.direct.0 == user {
                        c.direct.1.clone()
                    } else {
                        c.direct.0.clone()
                    }
                });
                ConversationSummary {
                    name: (c.kind == ConversationKind::Group).then(|| c.name.clone()),
                    peer_id: peer,
                    id: c.id,
                    kind: c.kind,
                    role,
                    member_count: c.member_count,
                    membership_version: c.membership_version,
                }
            })
            .collect();
        Ok(ConversationPage {
            conversations,
            next_cursor,
        })
    }

    /// A page of a group's members, for one of them.
    pub async fn member_page(
        &self,
        user: &str,
        id: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<MemberPage, GroupsError> {
        let group = self.group(user, id).await?;
        let limit = self.page_size(limit)?;
        let rows = members::page(self.store.pool(), &group.id, cursor.unwrap_or(""), limit).await?;
        let next_cursor = (rows.len() == limit as usize)
            .then(|| rows.last().map(|m| m.user_id.clone()))
            .flatten();
        Ok(MemberPage {
            members: rows
                .into_iter()
                .map(|m| MemberView {
                    user_id: m.user_id,
                    role: m.role,
                    joined_at_ms: m.joined_at_ms,
                    added_by: m.added_by,
                })
                .collect(),
            next_cursor,
            membership_version: group.membership_version,
        })
    }

    /// A page size within 1 and the configured maximum (default 100).
    fn page_size(&self, limit: Option<u32>) -> Result<u32, GroupsError> {
        let max = self.config.max_page_size;
        match limit.unwrap_or(100.min(max)) {
            n if (1..=max).contains(&n) => Ok(n),
            n => Err(GroupsError::field(
                "limit",
                format!("{n} is not between 1 and {max}"),
            )),
        }
    }
}
