//! Reads: history pages by seq in both directions, and the versions of an
//! edited message. Members only (membership `Read`).

use super::Engine;
use crate::membership::MemberAction;
use crate::store::Window;
use crate::{
    HistoryPage, HistoryRequest, Message, MessageKind, RouterError, VersionsRequest, metrics as m,
    validate,
};

impl Engine {
    /// One page of history; see [`HistoryRequest`] and [`HistoryPage`].
    pub(crate) async fn read_history(
        &self,
        request: &HistoryRequest,
    ) -> Result<HistoryPage, RouterError> {
        let result = self.read_history_inner(request).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.outcome(),
        };
        metrics::counter!(m::HISTORY_READS, "outcome" => outcome).increment(1);
        result
    }

    async fn read_history_inner(
        &self,
        request: &HistoryRequest,
    ) -> Result<HistoryPage, RouterError> {
        validate::caller(&request.caller)?;
        validate::conversation_id(&request.conversation_id)?;
        let limits = &self.inner.limits;
        let limit = match request.limit {
            None => limits.default_page,
            Some(limit) if (1..=limits.max_page).contains(&limit) => limit,
            Some(limit) => {
                return Err(RouterError::invalid(format!(
                    "limit must be 1 to {}, got {limit}",
                    limits.max_page
                )));
            }
        };
        if let (Some(after), Some(before)) = (request.after_seq, request.before_seq)
            && after >= before
        {
            return Err(RouterError::invalid(format!(
                "after ({after}) must be smaller than before ({before})"
            )));
        }
        self.authorize(
            &request.caller,
            &request.conversation_id,
            MemberAction::Read,
        )
        .await?;
        let window = match (request.after_seq, request.before_seq) {
            (Some(after), before) => Window::Forward { after, before },
            (None, before) => Window::Backward { before },
        };
        let store = &self.inner.store;
        let (messages, has_more) = store
            .page(&request.conversation_id, window, limit as usize)
            .await?;
        // Read after the page, so `last_seq` is never below a message in it.
        let head = store.head(&request.conversation_id).await?;
        Ok(HistoryPage {
            messages,
            has_more,
            last_seq: head.seq,
        })
    }

    /// The original text message, then each of its edits, in seq order.
    pub(crate) async fn read_versions(
        &self,
        request: &VersionsRequest,
    ) -> Result<Vec<Message>, RouterError> {
        validate::caller(&request.caller)?;
        validate::conversation_id(&request.conversation_id)?;
        validate::seq("seq", request.seq)?;
        self.authorize(
            &request.caller,
            &request.conversation_id,
            MemberAction::Read,
        )
        .await?;
        let store = &self.inner.store;
        let conversation_id = &request.conversation_id;
        let original = store
            .message(conversation_id, request.seq)
            .await?
            .ok_or_else(|| {
                RouterError::NotFound(format!("message {} does not exist", request.seq))
            })?
            .message;
        if original.kind != MessageKind::Text {
            return Err(RouterError::invalid(format!(
                "message {} is a {} message; only text messages have versions",
                request.seq,
                original.kind.as_str()
            )));
        }
        let mut versions = Vec::with_capacity(1 + original.edit_seqs.len());
        for seq in original.edit_seqs.clone() {
            let edit = store.message(conversation_id, seq).await?.ok_or_else(|| {
                RouterError::Corrupt(format!("edit {seq} of message {} is missing", request.seq))
            })?;
            versions.push(edit.message);
        }
        versions.insert(0, original);
        Ok(versions)
    }
}
