//! What a viewer may see of a conversation's receipts.
//!
//! Privacy is enforced here, for every view: a member's read mark is shown
//! to the member themself, and to another viewer only when both share read
//! receipts (WhatsApp's rule: who hides theirs sees nobody's). Delivery is
//! always shown. Members come from the groups service; members without a
//! live marks item show the marks they have by default (see
//! `joined_marks`).

use std::collections::HashMap;

use super::{Engine, joined_marks};
use crate::store::{Head, MarkRecord};
use crate::{
    ConversationReceipts, MemberMarks, MessageReceipts, ReceiptsError, Snapshot, validate,
};

/// A conversation's members with their effective marks.
struct Board {
    head: Head,
    members: Vec<(String, MarkRecord)>,
}

impl Board {
    fn marks_of(&self, user_id: &str) -> Option<&MarkRecord> {
        self.members
            .iter()
            .find(|(member, _)| member == user_id)
            .map(|(_, marks)| marks)
    }
}

impl Engine {
    /// The members and marks of a conversation, if `viewer_id` is a member.
    async fn board(
        &self,
        viewer_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Board>, ReceiptsError> {
        let Some(mut members) = self
            .groups()
            .members_with(conversation_id, viewer_id)
            .await?
        else {
            return Ok(None);
        };
        members.sort();
        members.dedup();
        let (head, stored) = tokio::try_join!(
            self.store().head(conversation_id),
            self.store().marks(conversation_id)
        )?;
        let head = head.value;
        let stored: HashMap<String, MarkRecord> =
            stored.into_iter().filter(|(_, marks)| marks.live).collect();
        let members = members
            .into_iter()
            .map(|user_id| {
                let marks = stored
                    .get(&user_id)
                    .copied()
                    .unwrap_or_else(|| joined_marks(&head));
                (user_id, marks)
            })
            .collect();
        Ok(Some(Board { head, members }))
    }

    /// One conversation as `viewer_id` may see it, if they are a member.
    async fn view(
        &self,
        viewer_id: &str,
        conversation_id: &str,
        viewer_shares: bool,
    ) -> Result<Option<ConversationReceipts>, ReceiptsError> {
        let Some(board) = self.board(viewer_id, conversation_id).await? else {
            return Ok(None);
        };
        let others: Vec<String> = board
            .members
            .iter()
            .map(|(user_id, _)| user_id.clone())
            .filter(|user_id| user_id != viewer_id)
            .collect();
        let shares: HashMap<String, bool> = if viewer_shares {
            let shared = self.shares_reads(others.clone()).await?;
            others.into_iter().zip(shared).collect()
        } else {
            HashMap::new()
        };
        let members = board
            .members
            .iter()
            .map(|(user_id, marks)| {
                let visible = user_id == viewer_id || shares.get(user_id) == Some(&true);
                MemberMarks {
                    user_id: user_id.clone(),
                    delivered_seq: marks.delivered,
                    read_seq: visible.then_some(marks.read),
                }
            })
            .collect();
        let own_read = board.marks_of(viewer_id).map_or(0, |marks| marks.read);
        let unread = self
            .unread_in(conversation_id, &board.head, own_read)
            .await?;
        Ok(Some(ConversationReceipts {
            conversation_id: conversation_id.to_owned(),
            members,
            unread,
        }))
    }

    /// The receipts of the conversations `viewer_id` is a member of, in request order.
    pub(crate) async fn snapshot(
        &self,
        viewer_id: &str,
        conversation_ids: &[String],
    ) -> Result<Snapshot, ReceiptsError> {
        validate::snapshot(viewer_id, conversation_ids)?;
        let reads_shared = self.settings(viewer_id).await?.reads_shared;
        let viewer = viewer_id.to_owned();
        let views = self
            .each(conversation_ids.to_vec(), move |engine, conversation_id| {
                let viewer = viewer.clone();
                async move { engine.view(&viewer, &conversation_id, reads_shared).await }
            })
            .await?;
        Ok(Snapshot {
            conversations: views.into_iter().flatten().collect(),
            reads_shared,
        })
    }

    /// One conversation's receipts for a member; `PermissionDenied` otherwise.
    pub(crate) async fn conversation_receipts(
        &self,
        viewer_id: &str,
        conversation_id: &str,
    ) -> Result<(ConversationReceipts, bool), ReceiptsError> {
        validate::user_id("viewer_id", viewer_id)?;
        validate::conversation_id(conversation_id)?;
        let reads_shared = self.settings(viewer_id).await?.reads_shared;
        let view = self
            .view(viewer_id, conversation_id, reads_shared)
            .await?
            .ok_or_else(|| not_member(viewer_id, conversation_id))?;
        Ok((view, reads_shared))
    }

    /// Who received and read message `seq`, as `viewer_id` may see it:
    /// counted over the members other than the viewer and the sender (known
    /// for text messages) who were already members when it was sent.
    pub(crate) async fn message_receipts(
        &self,
        viewer_id: &str,
        conversation_id: &str,
        seq: u64,
    ) -> Result<MessageReceipts, ReceiptsError> {
        validate::user_id("viewer_id", viewer_id)?;
        validate::conversation_id(conversation_id)?;
        if seq == 0 {
            return Err(ReceiptsError::invalid("seq must be at least 1"));
        }
        let board = self
            .board(viewer_id, conversation_id)
            .await?
            .ok_or_else(|| not_member(viewer_id, conversation_id))?;
        let sender = self.store().index_at(conversation_id, seq).await?;
        let sender = sender.as_ref().map(|entry| entry.sender_id.as_str());
        let counted: Vec<&(String, MarkRecord)> = board
            .members
            .iter()
            .filter(|(user_id, marks)| {
                user_id != viewer_id && Some(user_id.as_str()) != sender && marks.joined_seq < seq
            })
            .collect();
        let delivered_to: Vec<String> = counted
            .iter()
            .filter(|(_, marks)| marks.delivered >= seq)
            .map(|(user_id, _)| user_id.clone())
            .collect();
        let read_by = if self.settings(viewer_id).await?.reads_shared {
            let readers: Vec<String> = counted
                .iter()
                .filter(|(_, marks)| marks.read >= seq)
                .map(|(user_id, _)| user_id.clone())
                .collect();
            let shares = self.shares_reads(readers.clone()).await?;
            let visible: Vec<String> = readers
                .into_iter()
                .zip(shares)
                .filter(|(_, shared)| *shared)
                .map(|(user_id, _)| user_id)
                .collect();
            Some(visible)
        } else {
            None
        };
        Ok(MessageReceipts {
            seq,
            members: counted.len() as u64,
            delivered: delivered_to.len() as u64,
            read: read_by.as_ref().map(|readers| readers.len() as u64),
            delivered_to,
            read_by,
        })
    }
}

fn not_member(viewer_id: &str, conversation_id: &str) -> ReceiptsError {
    ReceiptsError::PermissionDenied(format!(
        "user {viewer_id} is not a member of conversation {conversation_id}"
    ))
}
