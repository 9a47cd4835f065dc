//! The mark requests of devices and users: input checks, membership, the
//! REST head bound, then the one write path in [`super::marks`].

use std::collections::HashMap;

use super::Engine;
use super::marks::{MarkChange, Origin, UserCache};
use crate::{
    MarkDelivered, MarkRead, MarkReadOutcome, MemberMarks, ReceiptsError, metrics as m, validate,
};

impl Engine {
    /// Marks a conversation read for a member. `untrusted` callers (REST)
    /// may not mark past the last message seen on the message feed.
    pub(crate) async fn mark_read(
        &self,
        request: &MarkRead,
        untrusted: bool,
    ) -> Result<MarkReadOutcome, ReceiptsError> {
        let outcome = self.mark_read_inner(request, untrusted).await;
        let label = match &outcome {
            Ok((_, true)) => "advanced",
            Ok((_, false)) => "unchanged",
            Err(ReceiptsError::PermissionDenied(_)) => "denied",
            Err(ReceiptsError::InvalidArgument(_) | ReceiptsError::BeyondHead { .. }) => "invalid",
            Err(_) => "error",
        };
        m::mark("read", label);
        outcome.map(|(outcome, _)| outcome)
    }

    async fn mark_read_inner(
        &self,
        request: &MarkRead,
        untrusted: bool,
    ) -> Result<(MarkReadOutcome, bool), ReceiptsError> {
        validate::mark_read(request)?;
        self.require_member(&request.user_id, &request.conversation_id)
            .await?;
        if untrusted {
            let head = self.store().head(&request.conversation_id).await?.value;
            if request.seq > head.last_seq {
                return Err(ReceiptsError::BeyondHead {
                    seq: request.seq,
                    head: head.last_seq,
                });
            }
        }
        let change = MarkChange {
            conversation_id: &request.conversation_id,
            user_id: &request.user_id,
            device_id: &request.device_id,
            delivered: request.seq,
            read: request.seq,
            origin: Origin::User,
        };
        let applied = self.apply(&change, &mut UserCache::default()).await?;
        let outcome = MarkReadOutcome {
            marks: MemberMarks {
                user_id: request.user_id.clone(),
                delivered_seq: applied.record.delivered,
                read_seq: Some(applied.record.read),
            },
            unread: applied.unread,
        };
        Ok((outcome, applied.advanced))
    }

    /// Records a device's delivery acks; returns how many marks moved.
    ///
    /// A conversation named twice counts with its highest seq; conversations
    /// the user is not a member of are skipped (acks may race a removal).
    /// Every membership answer is in before the first write; a store failure
    /// part-way leaves the earlier marks moved, and a retry of the same
    /// batch is harmless.
    pub(crate) async fn mark_delivered(
        &self,
        request: &MarkDelivered,
    ) -> Result<u32, ReceiptsError> {
        validate::mark_delivered(request).inspect_err(|_| m::mark("delivered", "invalid"))?;
        let mut highest: HashMap<&str, u64> = HashMap::new();
        let mut order = Vec::new();
        for mark in request.marks.iter().filter(|mark| mark.seq > 0) {
            let seq = highest
                .entry(mark.conversation_id.as_str())
                .or_insert_with(|| {
                    order.push(mark.conversation_id.as_str());
                    0
                });
            *seq = (*seq).max(mark.seq);
        }
        let user_id = request.user_id.as_str();
        let owned_user = request.user_id.clone();
        let conversations: Vec<String> = order.iter().map(|c| (*c).to_owned()).collect();
        let allowed = self
            .each(conversations, move |engine, conversation_id| {
                let user_id = owned_user.clone();
                async move {
                    let member = engine
                        .groups()
                        .is_member(&user_id, &conversation_id)
                        .await?;
                    Ok((conversation_id, member))
                }
            })
            .await?;
        let mut cache = UserCache::default();
        let mut advanced = 0;
        for (conversation_id, member) in &allowed {
            let (conversation_id, member) = (conversation_id.as_str(), *member);
            if !member {
                m::mark("delivered", "denied");
                tracing::debug!(%user_id, %conversation_id, "delivery ack from a non-member skipped");
                continue;
            }
            let seq = highest.get(conversation_id).copied().unwrap_or_default();
            let change = MarkChange {
                conversation_id,
                user_id,
                device_id: &request.device_id,
                delivered: seq,
                read: 0,
                origin: Origin::User,
            };
            let applied = self.apply(&change, &mut cache).await?;
            m::mark(
                "delivered",
                if applied.advanced {
                    "advanced"
                } else {
                    "unchanged"
                },
            );
            advanced += u32::from(applied.advanced);
        }
        Ok(advanced)
    }
}
