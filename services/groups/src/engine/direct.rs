//! Direct conversations: one per pair of users, created on first use.
//!
//! The id is derived from the pair, so concurrent first messages race on
//! one primary key: exactly one insert wins (`ON CONFLICT DO NOTHING`) and
//! announces the conversation; the others read what it wrote.

use chatflow_groups_client::{Conversation, ConversationKind, Role, direct_conversation_id};
use chatflow_proto::groups::v1::membership_changed::Kind;

use super::{Engine, events, now_ms};
use crate::GroupsError;
use crate::model::Permissions;
use crate::store::{ConversationRow, MemberRow, conversations, members};

impl Engine {
    /// The direct conversation of two users, created on first use.
    pub async fn ensure_direct(
        &self,
        user_a: &str,
        user_b: &str,
    ) -> Result<Conversation, GroupsError> {
        let id = direct_conversation_id(user_a, user_b)?;
        let (low, high) = if user_a < user_b {
            (user_a, user_b)
        } else {
            (user_b, user_a)
        };
        let now = now_ms();
        let row = ConversationRow {
            id: id.clone(),
            kind: ConversationKind::Direct,
            name: String::new(),
            description: String::new(),
            avatar_file_id: String::new(),
            permissions: Permissions::default(),
            direct: (low.to_owned(), high.to_owned()),
            membership_version: 1,
            info_version: 1,
            member_count: 2,
            created_by: user_a.to_owned(),
            created_at_ms: now,
        };
        let mut tx = self.store.begin().await?;
        let created = conversations::insert(&mut tx, &row, now).await?;
        if created {
            for user in [low, high] {
                let member = MemberRow {
                    user_id: user.to_owned(),
                    role: Role::Member,
                    joined_version: 1,
                    joined_at_ms: now,
                    added_by: user_a.to_owned(),
                };
                members::insert(&mut tx, &id, &member).await?;
            }
            let subjects = vec![low.to_owned(), high.to_owned()];
            self.store
                .emit(&mut tx, &events::created(&row, subjects, now))
                .await?;
            self.store.commit(tx, &[Kind::Created]).await?;
            tracing::info!(conversation_id = %id, "direct conversation created");
        } else {
            drop(tx);
        }
        let current = self.members(&id).await?;
        Ok(Conversation {
            conversation_id: id,
            kind: ConversationKind::Direct,
            membership_version: current.membership_version,
            member_ids: current.members.into_iter().map(|m| m.user_id).collect(),
            created,
        })
    }
}
