//! The router's data on the message store port (DynamoDB, or SQLite
//! embedded): reads, and the transaction ops a write is made of.
//!
//! A write is one all-or-nothing transaction: the conversation head moves
//! from seq `n` to `n + 1` (`IfAbsent` for the first message, else
//! `IfVersion(n)` — the head item's version *is* the seq), the message is
//! put `IfAbsent` at `n + 1`, the idempotency item `IfAbsent`, and the
//! outbox event `IfAbsent`, plus any target update a write needs. Two
//! writers racing for `n + 1` cannot both commit, whichever instance they
//! run in: the head condition is the fence.

pub mod codec;
pub mod keys;
mod outbox;

use chatflow_kv::{Condition, Direction, KvStoreRef, Query, SortRange, TxOp};

pub use codec::{AckRecord, Head, OutboxRecord};

use crate::{Message, RouterError};

/// The router's tables on one store; cheap to clone.
#[derive(Clone, Debug)]
pub struct MessageStore {
    kv: KvStoreRef,
}

/// A message as read, with the item version a conditional update needs.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The message.
    pub message: Message,
    /// Its item version.
    pub version: u64,
}

/// Which seqs a page covers, and in which order to read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The first `limit` seqs greater than `after` (and below `before`, if any).
    Forward {
        /// Exclusive lower bound.
        after: u64,
        /// Exclusive upper bound.
        before: Option<u64>,
    },
    /// The last `limit` seqs smaller than `before` (`None`: the latest).
    Backward {
        /// Exclusive upper bound.
        before: Option<u64>,
    },
}

impl MessageStore {
    /// The router's tables on `kv`.
    pub fn new(kv: KvStoreRef) -> Self {
        Self { kv }
    }

    /// The underlying store.
    pub fn kv(&self) -> &KvStoreRef {
        &self.kv
    }

    /// Creates the tables when missing.
    pub async fn ensure_tables(&self) -> Result<(), RouterError> {
        Ok(self.kv.ensure_tables(&keys::table_specs()).await?)
    }

    /// The conversation's head; seq 0 when it has no message yet.
    pub async fn head(&self, conversation_id: &str) -> Result<Head, RouterError> {
        let item = self
            .kv
            .get(
                keys::HEADS,
                &keys::conversation_pk(conversation_id),
                keys::HEAD_SK,
            )
            .await?;
        item.as_ref()
            .map_or(Ok(Head::default()), codec::head_from_item)
    }

    /// One message, with its item version.
    pub async fn message(
        &self,
        conversation_id: &str,
        seq: u64,
    ) -> Result<Option<Versioned>, RouterError> {
        let item = self
            .kv
            .get(
                keys::MESSAGES,
                &keys::conversation_pk(conversation_id),
                &keys::seq_sk(seq),
            )
            .await?;
        item.map(|item| {
            Ok(Versioned {
                message: codec::message_from_item(&item)?,
                version: item.version,
            })
        })
        .transpose()
    }

    /// The ack of a stored write, if its idempotency item is still there.
    pub async fn ack(
        &self,
        conversation_id: &str,
        sender_id: &str,
        client_msg_id: &str,
    ) -> Result<Option<AckRecord>, RouterError> {
        let pk = keys::idempotency_pk(conversation_id, sender_id, client_msg_id);
        let item = self.kv.get(keys::IDEMPOTENCY, &pk, keys::ACK_SK).await?;
        item.as_ref().map(codec::ack_from_item).transpose()
    }

    /// Up to `limit` messages of `window`, ascending, and whether more lie
    /// beyond it in its direction.
    pub async fn page(
        &self,
        conversation_id: &str,
        window: Window,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), RouterError> {
        let (range, direction) = match window {
            Window::Forward { after, before } => {
                let low = keys::seq_sk(after.saturating_add(1));
                match before {
                    Some(0 | 1) => return Ok((Vec::new(), false)),
                    Some(before) if before <= after.saturating_add(1) => {
                        return Ok((Vec::new(), false));
                    }
                    Some(before) => (
                        SortRange::Between(low, keys::seq_sk(before - 1)),
                        Direction::Forward,
                    ),
                    None => (SortRange::Ge(low), Direction::Forward),
                }
            }
            Window::Backward {
                before: Some(0 | 1),
            } => return Ok((Vec::new(), false)),
            Window::Backward {
                before: Some(before),
            } => (SortRange::Lt(keys::seq_sk(before)), Direction::Backward),
            Window::Backward { before: None } => (SortRange::All, Direction::Backward),
        };
        let mut query = Query::new(keys::conversation_pk(conversation_id))
            .with_range(range)
            .with_limit(limit + 1);
        query.direction = direction;
        let page = self.kv.query(keys::MESSAGES, query).await?;
        let more = page.items.len() > limit || page.next.is_some();
        let mut messages = page
            .items
            .iter()
            .take(limit)
            .map(codec::message_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        if direction == Direction::Backward {
            messages.reverse();
        }
        Ok((messages, more))
    }

    /// Applies a write's ops, all or nothing.
    pub async fn commit(&self, ops: Vec<TxOp>) -> Result<(), chatflow_kv::KvError> {
        self.kv.transact(ops).await
    }
}

/// Moves the head from `from` to `to` (the fence: exactly one writer wins `to.seq`).
pub fn head_op(conversation_id: &str, from: Head, to: Head) -> Result<TxOp, RouterError> {
    let condition = if from.seq == 0 {
        Condition::IfAbsent
    } else {
        Condition::IfVersion(from.seq)
    };
    Ok(TxOp::Put {
        table: keys::HEADS.to_owned(),
        item: codec::head_item(conversation_id, to)?,
        condition,
    })
}

/// Stores a new message at its seq.
pub fn new_message_op(message: &Message) -> Result<TxOp, RouterError> {
    Ok(TxOp::Put {
        table: keys::MESSAGES.to_owned(),
        item: codec::message_item(message)?,
        condition: Condition::IfAbsent,
    })
}

/// Rewrites a stored message if it is still at `version`.
pub fn update_message_op(message: &Message, version: u64) -> Result<TxOp, RouterError> {
    Ok(TxOp::Put {
        table: keys::MESSAGES.to_owned(),
        item: codec::message_item(message)?,
        condition: Condition::IfVersion(version),
    })
}

/// Fails the write unless a stored message is still at `version`.
pub fn check_message_op(conversation_id: &str, seq: u64, version: u64) -> TxOp {
    TxOp::ConditionCheck {
        table: keys::MESSAGES.to_owned(),
        pk: keys::conversation_pk(conversation_id),
        sk: keys::seq_sk(seq),
        condition: Condition::IfVersion(version),
    }
}

/// Remembers a write's ack under its idempotency key until `expires_at`.
pub fn ack_op(sender_id: &str, record: &AckRecord, expires_at: i64) -> Result<TxOp, RouterError> {
    Ok(TxOp::Put {
        table: keys::IDEMPOTENCY.to_owned(),
        item: codec::ack_item(sender_id, record, expires_at)?,
        condition: Condition::IfAbsent,
    })
}

/// Queues the event about `message` for the relay.
pub fn outbox_op(message: &Message, record: &OutboxRecord) -> Result<TxOp, RouterError> {
    Ok(TxOp::Put {
        table: keys::OUTBOX.to_owned(),
        item: codec::outbox_item(message, record)?,
        condition: Condition::IfAbsent,
    })
}
