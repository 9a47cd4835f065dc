//! The one write path of a member's marks.
//!
//! A change reads the member's marks item and the conversation's head,
//! moves each mark to the higher of its stored and requested values (read
//! implies delivered), and — only if something moved — commits the new item
//! together with its `ReceiptsUpdated` event in one transaction conditioned
//! on the version it read. A lost race re-reads and tries again; a lower or
//! equal mark writes and publishes nothing. A member without live marks
//! starts from the marks views show for them (`joined_marks`). The event
//! carries the member's unread count and total, so a change also costs a
//! total (see `unread`). The message feed plans the sender's change
//! ([`Engine::plan`]) into the transaction that counts their message.

use chatflow_kv::TxOp;
use chatflow_proto::receipts::v1::ReceiptsUpdated;

use super::unread::total_with;
use super::{Engine, contention, joined_marks, lost_race};
use crate::store::{self, Head, MarkRecord, keys};
use crate::{ConversationUnread, ReceiptsError, events};

/// Who asked for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The member, through a device (already checked to be a member).
    User,
    /// The member's own message, seen on the message feed: a member who has
    /// left since (a tombstone) is not brought back by it.
    OwnSend,
}

/// A requested move of one member's marks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MarkChange<'a> {
    pub conversation_id: &'a str,
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub delivered: u64,
    pub read: u64,
    pub origin: Origin,
}

/// What a change did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    /// The member's marks afterwards.
    pub record: MarkRecord,
    /// Whether anything moved (and an event was published).
    pub advanced: bool,
    /// The member's unread count in the conversation afterwards.
    pub unread: u64,
}

/// A change worked out, not yet committed.
#[derive(Debug)]
pub(crate) struct Planned {
    /// What it does once committed.
    pub applied: Applied,
    /// The ops that make it; empty when nothing moves.
    pub ops: Vec<TxOp>,
}

impl Planned {
    fn unchanged(record: MarkRecord, unread: u64) -> Self {
        Self {
            applied: Applied {
                record,
                advanced: false,
                unread,
            },
            ops: Vec::new(),
        }
    }
}

/// What one user's changes in a row share, read at most once.
#[derive(Debug, Default)]
pub(crate) struct UserCache {
    totals: Option<Vec<ConversationUnread>>,
    reads_shared: Option<bool>,
}

impl Engine {
    /// Applies `change`: see the module docs.
    pub(crate) async fn apply(
        &self,
        change: &MarkChange<'_>,
        cache: &mut UserCache,
    ) -> Result<Applied, ReceiptsError> {
        let attempts = self.attempts();
        for _ in 0..attempts {
            let head = self.store().head(change.conversation_id).await?.value;
            let planned = self.plan(change, &head, cache).await?;
            if planned.ops.is_empty() {
                return Ok(planned.applied);
            }
            match self.store().commit(planned.ops).await {
                Ok(()) => {
                    self.committed(change, &planned.applied, cache);
                    return Ok(planned.applied);
                }
                Err(err) if lost_race(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(contention("marks", attempts))
    }

    /// Works out `change` against the stored marks and the conversation as
    /// `head` describes it: the marks afterwards and the ops that make them
    /// (none when nothing moves). The ops hold only when the marks item is
    /// still at the version read.
    pub(crate) async fn plan(
        &self,
        change: &MarkChange<'_>,
        head: &Head,
        cache: &mut UserCache,
    ) -> Result<Planned, ReceiptsError> {
        let (conversation_id, user_id) = (change.conversation_id, change.user_id);
        let current = self.store().mark(conversation_id, user_id).await?;
        if change.origin == Origin::OwnSend && current.exists() && !current.value.live {
            return Ok(Planned::unchanged(current.value, 0));
        }
        let base = if current.value.live {
            current.value
        } else {
            joined_marks(head)
        };
        let read = base.read.max(change.read);
        let next = MarkRecord {
            delivered: base.delivered.max(change.delivered).max(read),
            read,
            joined_seq: base.joined_seq,
            live: true,
            updated_ms: chatflow_runtime::clock::now_ms(),
        };
        let unread = self.unread_in(conversation_id, head, read).await?;
        // Nothing moved from what every view shows: no write, no event.
        if base.delivered == next.delivered && base.read == next.read {
            return Ok(Planned::unchanged(base, unread));
        }
        let event = self.event(change, &next, unread, cache).await?;
        let sk = keys::marks_event_sk(conversation_id, user_id, current.next_version());
        Ok(Planned {
            applied: Applied {
                record: next,
                advanced: true,
                unread,
            },
            ops: vec![
                store::mark_op(conversation_id, user_id, &current, &next)?,
                store::outbox_op(sk, &events::updated_record(&event))?,
            ],
        })
    }

    /// After a planned change committed: wakes the relay and keeps the
    /// user's cached totals current for the next change of a batch.
    pub(crate) fn committed(
        &self,
        change: &MarkChange<'_>,
        applied: &Applied,
        cache: &mut UserCache,
    ) {
        if !applied.advanced {
            return;
        }
        self.inner.wake.wake(change.conversation_id);
        remember(
            cache,
            change.conversation_id,
            applied.unread,
            applied.record.read,
        );
    }

    /// The event announcing `next`, with the member's totals.
    async fn event(
        &self,
        change: &MarkChange<'_>,
        next: &MarkRecord,
        unread: u64,
        cache: &mut UserCache,
    ) -> Result<ReceiptsUpdated, ReceiptsError> {
        let totals = match cache.totals.take() {
            Some(totals) => totals,
            None => self.unread_all(change.user_id).await?,
        };
        let total_unread = total_with(&totals, change.conversation_id, unread);
        cache.totals = Some(totals);
        let read_shared = match cache.reads_shared {
            Some(shared) => shared,
            None => {
                self.store()
                    .settings(change.user_id)
                    .await?
                    .value
                    .reads_shared
            }
        };
        cache.reads_shared = Some(read_shared);
        Ok(ReceiptsUpdated {
            conversation_id: change.conversation_id.to_owned(),
            user_id: change.user_id.to_owned(),
            device_id: change.device_id.to_owned(),
            delivered_seq: next.delivered,
            read_seq: next.read,
            read_shared,
            unread,
            total_unread,
            updated_at_ms: next.updated_ms,
        })
    }
}

/// Keeps a batch's totals current after a committed change.
fn remember(cache: &mut UserCache, conversation_id: &str, unread: u64, read_seq: u64) {
    let Some(totals) = cache.totals.as_mut() else {
        return;
    };
    match totals
        .iter_mut()
        .find(|c| c.conversation_id == conversation_id)
    {
        Some(entry) => {
            entry.unread = unread;
            entry.read_seq = read_seq;
        }
        None => totals.push(ConversationUnread {
            conversation_id: conversation_id.to_owned(),
            unread,
            read_seq,
        }),
    }
}
