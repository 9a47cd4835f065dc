//! Events from other services, turned into receipts state. Every step is
//! idempotent, so a redelivered event changes nothing more.
//!
//! **Messages** (`chatflow.messages.*`): the conversation's head records the
//! highest seq seen (the bound REST read marks are checked against). A text
//! message — the only countable kind: edits, deletes, reactions and system
//! notices are not, and a deleted message keeps counting as its tombstone is
//! shown — is indexed with the next ordinal, and its sender's marks move to
//! it, all in one transaction conditioned on the head and the sender's marks
//! (so one's own message is never unread, not even for a moment). The first
//! one also records marks for every member of the time, so each has an item
//! for their total. A text message older than the last one indexed can only
//! come from a replayed dead letter; it is not counted (that would break the
//! ordinal order) and is logged.
//!
//! **Membership** (`chatflow.groups.membership_changed`): added members
//! (and the members of a new conversation) get marks at the conversation's
//! last seq as known here — messages from before they joined are not theirs
//! to read — unless they already have live ones; removed members and those
//! who left keep only a tombstone, so they leave their totals at once.

use chatflow_groups_client::check_user_id;
use chatflow_proto::groups::v1::MembershipChanged;
use chatflow_proto::groups::v1::membership_changed::Kind;
use chatflow_proto::messages::v1 as pb;

use super::marks::{Planned, UserCache};
use super::{Engine, MarkChange, Origin, contention, lost_race};
use crate::store::{self, Head, IndexEntry, MarkRecord};
use crate::{ReceiptsError, metrics as m, validate};

/// What a message event did to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indexed {
    /// A new countable message, with its ordinal.
    Counted,
    /// A countable message indexed before (a redelivery).
    Duplicate,
    /// A countable message older than the last indexed one: not counted.
    Late,
    /// Not countable; only the head moved (or nothing, for a redelivery).
    NotCountable,
}

impl Engine {
    /// Applies one message event; see the module docs.
    pub(crate) async fn ingest_message(
        &self,
        message: &pb::Message,
    ) -> Result<Indexed, ReceiptsError> {
        let conversation_id = message.conversation_id.as_str();
        validate::conversation_id(conversation_id)?;
        if message.seq == 0 {
            return Err(ReceiptsError::invalid("message without a seq"));
        }
        let countable = message.kind() == pb::MessageKind::Text;
        let indexed = self.index(message, countable).await?;
        m::message(match indexed {
            Indexed::Counted => "counted",
            Indexed::Duplicate => "duplicate",
            Indexed::Late => "late",
            Indexed::NotCountable => "head",
        });
        Ok(indexed)
    }

    /// Moves the head and indexes a countable message, in one transaction.
    async fn index(
        &self,
        message: &pb::Message,
        countable: bool,
    ) -> Result<Indexed, ReceiptsError> {
        let conversation_id = message.conversation_id.as_str();
        let attempts = self.attempts();
        let mut cache = UserCache::default();
        for _ in 0..attempts {
            let head = self.store().head(conversation_id).await?;
            let mut next = Head {
                last_seq: head.value.last_seq.max(message.seq),
                ..head.value
            };
            let mut ops = Vec::with_capacity(4);
            let mut own_send = None;
            let indexed = if !countable {
                Indexed::NotCountable
            } else if message.seq > head.value.last_countable_seq {
                if !head.value.seeded {
                    next.seeded = self.seed(conversation_id).await?;
                }
                next.ordinal += 1;
                next.last_countable_seq = message.seq;
                let entry = IndexEntry {
                    seq: message.seq,
                    ordinal: next.ordinal,
                    sender_id: message.sender_id.clone(),
                };
                ops.push(store::index_op(conversation_id, &entry)?);
                own_send = self.plan_own_send(message, &next, &mut cache).await?;
                if let Some(planned) = &mut own_send {
                    ops.append(&mut planned.ops);
                }
                Indexed::Counted
            } else if message.seq == head.value.last_countable_seq
                || self
                    .store()
                    .index_at(conversation_id, message.seq)
                    .await?
                    .is_some()
            {
                Indexed::Duplicate
            } else {
                tracing::warn!(%conversation_id, seq = message.seq, last = head.value.last_countable_seq,
                    "text message older than the last one indexed; not counted");
                Indexed::Late
            };
            if next == head.value {
                return Ok(indexed);
            }
            ops.push(store::head_op(conversation_id, &head, &next)?);
            match self.store().commit(ops).await {
                Ok(()) => {
                    if let (Some(planned), Some(change)) = (&own_send, own_change(message)) {
                        self.committed(&change, &planned.applied, &mut cache);
                        if planned.applied.advanced {
                            m::message("auto_read");
                        }
                    }
                    return Ok(indexed);
                }
                Err(err) if lost_race(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(contention("conversation head", attempts))
    }

    /// The sender's own read of a new countable message, planned against the
    /// head that counts it, to commit in the same transaction: the message
    /// is never unread for its sender, not even for a moment.
    async fn plan_own_send(
        &self,
        message: &pb::Message,
        head: &Head,
        cache: &mut UserCache,
    ) -> Result<Option<Planned>, ReceiptsError> {
        match own_change(message) {
            Some(change) => Ok(Some(self.plan(&change, head, cache).await?)),
            None => Ok(None),
        }
    }

    /// Records marks from the start for every current member without any;
    /// false when the groups service cannot say who they are (counting goes
    /// on, and the next countable message tries again).
    async fn seed(&self, conversation_id: &str) -> Result<bool, ReceiptsError> {
        let members = match self.groups().members(conversation_id).await {
            Ok(members) => members,
            Err(err @ ReceiptsError::Unavailable { .. }) => {
                tracing::warn!(%conversation_id, error = %err, "members unknown; their marks are recorded later");
                return Ok(false);
            }
            Err(err) => return Err(err),
        };
        let fresh = MarkRecord {
            live: true,
            updated_ms: chatflow_runtime::clock::now_ms(),
            ..MarkRecord::default()
        };
        let members: Vec<String> = members
            .into_iter()
            .filter(|user_id| check_user_id("member", user_id).is_ok())
            .collect();
        let conversation = conversation_id.to_owned();
        self.each(members, move |engine, user_id| {
            let conversation_id = conversation.clone();
            async move {
                let absent = crate::store::Versioned::<MarkRecord>::default();
                let op = store::mark_op(&conversation_id, &user_id, &absent, &fresh)?;
                match engine.store().commit(vec![op]).await {
                    Ok(()) => Ok(()),
                    // Already there: a join, an ack or an earlier attempt recorded them.
                    Err(err) if lost_race(&err) => Ok(()),
                    Err(err) => Err(ReceiptsError::from(err)),
                }
            }
        })
        .await?;
        Ok(true)
    }

    /// Applies one membership change; see the module docs.
    pub(crate) async fn apply_membership(
        &self,
        event: &MembershipChanged,
    ) -> Result<(), ReceiptsError> {
        let conversation_id = event.conversation_id.as_str();
        validate::conversation_id(conversation_id)?;
        let joined = match Kind::try_from(event.kind) {
            Ok(Kind::Created | Kind::MemberAdded) => true,
            Ok(Kind::MemberRemoved | Kind::MemberLeft) => false,
            _ => return Ok(()),
        };
        for user_id in &event.subject_ids {
            if check_user_id("subject_id", user_id).is_err() {
                tracing::warn!(%conversation_id, "membership change names a malformed user id; skipped");
                continue;
            }
            self.set_member(conversation_id, user_id, joined).await?;
            let change = if joined { "added" } else { "removed" };
            metrics::counter!(m::MEMBERSHIP, "change" => change).increment(1);
        }
        Ok(())
    }

    /// Gives a member live marks at the last seq (unless they have some), or
    /// turns their marks into a tombstone.
    async fn set_member(
        &self,
        conversation_id: &str,
        user_id: &str,
        member: bool,
    ) -> Result<(), ReceiptsError> {
        let attempts = self.attempts();
        for _ in 0..attempts {
            let current = self.store().mark(conversation_id, user_id).await?;
            let next = match (member, current.value.live) {
                (true, true) | (false, false) => return Ok(()),
                (true, false) => {
                    let at = self.store().head(conversation_id).await?.value.last_seq;
                    MarkRecord {
                        delivered: at,
                        read: at,
                        joined_seq: at,
                        live: true,
                        updated_ms: chatflow_runtime::clock::now_ms(),
                    }
                }
                (false, true) => MarkRecord {
                    live: false,
                    updated_ms: chatflow_runtime::clock::now_ms(),
                    ..current.value
                },
            };
            let op = store::mark_op(conversation_id, user_id, &current, &next)?;
            match self.store().commit(vec![op]).await {
                Ok(()) => return Ok(()),
                Err(err) if lost_race(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(contention("member marks", attempts))
    }
}

/// The read mark a text message implies for its sender (none for a sender
/// id that is not a user's).
fn own_change(message: &pb::Message) -> Option<MarkChange<'_>> {
    check_user_id("sender_id", &message.sender_id).ok()?;
    Some(MarkChange {
        conversation_id: &message.conversation_id,
        user_id: &message.sender_id,
        device_id: &message.device_id,
        delivered: message.seq,
        read: message.seq,
        origin: Origin::OwnSend,
    })
}
