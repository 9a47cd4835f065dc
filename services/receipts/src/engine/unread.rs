//! Unread counts, computed when asked from the countable-message index.
//!
//! Each countable (text) message of a conversation is indexed with its
//! ordinal (1, 2, 3, … in seq order). A member's unread count is the head's
//! last ordinal minus the ordinal of the last indexed message at or before
//! their read mark — exact whichever devices moved the mark, and still right
//! when a message is indexed after the mark that covers it. Own messages are
//! not unread because sending moves the sender's read mark.
//!
//! Cost: one head read per conversation, plus one single-item index query
//! when the member is behind. A user's total reads their live marks from the
//! secondary index (one query per 1000 conversations) and then each of
//! those conversations, `unread_concurrency` at a time.

use super::Engine;
use crate::store::Head;
use crate::{ConversationUnread, ReceiptsError, UnreadCounts, metrics as m, validate};

impl Engine {
    /// Unread messages in `conversation_id` for a reader at `read_seq`.
    pub(crate) async fn unread_in(
        &self,
        conversation_id: &str,
        head: &Head,
        read_seq: u64,
    ) -> Result<u64, ReceiptsError> {
        if head.ordinal == 0 || read_seq >= head.last_countable_seq {
            return Ok(0);
        }
        let seen = self
            .store()
            .index_at_or_before(conversation_id, read_seq)
            .await?
            .map_or(0, |entry| entry.ordinal);
        Ok(head.ordinal.saturating_sub(seen))
    }

    /// The unread count of every conversation the user has live marks in
    /// (zeros included), by conversation id.
    pub(crate) async fn unread_all(
        &self,
        user_id: &str,
    ) -> Result<Vec<ConversationUnread>, ReceiptsError> {
        let marks = self.store().user_marks(user_id).await?;
        metrics::histogram!(m::TOTAL_FANOUT).record(marks.len() as f64);
        let mut counts = self
            .each(marks, |engine, (conversation_id, mark)| async move {
                let head = engine.store().head(&conversation_id).await?.value;
                let unread = engine.unread_in(&conversation_id, &head, mark.read).await?;
                Ok(ConversationUnread {
                    conversation_id,
                    unread,
                    read_seq: mark.read,
                })
            })
            .await?;
        counts.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
        Ok(counts)
    }

    /// The user's unread counts: conversations with unread messages, and the total.
    pub(crate) async fn unread_counts(&self, user_id: &str) -> Result<UnreadCounts, ReceiptsError> {
        validate::user_id("user_id", user_id)?;
        let all = self.unread_all(user_id).await?;
        let total = all.iter().map(|c| c.unread).sum();
        Ok(UnreadCounts {
            total,
            conversations: all.into_iter().filter(|c| c.unread > 0).collect(),
        })
    }
}

/// A user's total with one conversation's count replaced by `unread`.
pub(crate) fn total_with(all: &[ConversationUnread], conversation_id: &str, unread: u64) -> u64 {
    let others: u64 = all
        .iter()
        .filter(|c| c.conversation_id != conversation_id)
        .map(|c| c.unread)
        .sum();
    others + unread
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_replace_one_conversation() {
        let all = vec![
            ConversationUnread {
                conversation_id: "a".into(),
                unread: 2,
                read_seq: 1,
            },
            ConversationUnread {
                conversation_id: "b".into(),
                unread: 5,
                read_seq: 1,
            },
        ];
        assert_eq!(total_with(&all, "a", 0), 5);
        assert_eq!(total_with(&all, "c", 1), 8);
    }
}
