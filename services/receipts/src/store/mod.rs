//! The receipts data on the key-value store port (DynamoDB, or SQLite
//! embedded): reads, and the transaction ops writes are made of.
//!
//! Every write conditions on the version of the item it read (`IfAbsent`
//! for a new one), so two writers racing on one member's marks or one
//! conversation's head cannot both commit; the loser re-reads and retries.
//! A marks change and its event commit in one transaction with the outbox.

pub mod codec;
pub mod keys;
mod outbox;

use chatflow_kv::{KvStoreRef, Query, SortRange, TxOp};

pub use codec::{Head, IndexEntry, MarkRecord, OutboxRecord, SettingsRecord, Versioned};

use crate::ReceiptsError;

/// The receipts tables on one store; cheap to clone.
#[derive(Clone, Debug)]
pub struct ReceiptsStore {
    kv: KvStoreRef,
}

impl ReceiptsStore {
    /// The receipts tables on `kv`.
    pub fn new(kv: KvStoreRef) -> Self {
        Self { kv }
    }

    /// The underlying store.
    pub fn kv(&self) -> &KvStoreRef {
        &self.kv
    }

    /// Creates the tables when missing.
    pub async fn ensure_tables(&self) -> Result<(), ReceiptsError> {
        Ok(self.kv.ensure_tables(&keys::table_specs()).await?)
    }

    /// The conversation's head; all zero (version 0) before its first message event.
    pub async fn head(&self, conversation_id: &str) -> Result<Versioned<Head>, ReceiptsError> {
        let item = self
            .kv
            .get(
                keys::RECEIPTS,
                &keys::head_pk(conversation_id),
                keys::HEAD_SK,
            )
            .await?;
        versioned(item.as_ref())
    }

    /// The last indexed countable message at or before `seq`, if any.
    pub async fn index_at_or_before(
        &self,
        conversation_id: &str,
        seq: u64,
    ) -> Result<Option<IndexEntry>, ReceiptsError> {
        if seq == 0 {
            return Ok(None);
        }
        let query = Query::new(keys::index_pk(conversation_id))
            .with_range(SortRange::Le(keys::seq_sk(seq)))
            .with_limit(1)
            .backward();
        let page = self.kv.query(keys::RECEIPTS, query).await?;
        page.items.first().map(codec::index_from_item).transpose()
    }

    /// The indexed countable message at exactly `seq`, if any.
    pub async fn index_at(
        &self,
        conversation_id: &str,
        seq: u64,
    ) -> Result<Option<IndexEntry>, ReceiptsError> {
        let item = self
            .kv
            .get(
                keys::RECEIPTS,
                &keys::index_pk(conversation_id),
                &keys::seq_sk(seq),
            )
            .await?;
        item.as_ref().map(codec::index_from_item).transpose()
    }

    /// One member's marks item (default, version 0, when absent).
    pub async fn mark(
        &self,
        conversation_id: &str,
        user_id: &str,
    ) -> Result<Versioned<MarkRecord>, ReceiptsError> {
        let item = self
            .kv
            .get(keys::RECEIPTS, &keys::marks_pk(conversation_id), user_id)
            .await?;
        versioned(item.as_ref())
    }

    /// Every marks item of a conversation (tombstones included), by user id.
    pub async fn marks(
        &self,
        conversation_id: &str,
    ) -> Result<Vec<(String, MarkRecord)>, ReceiptsError> {
        let mut marks = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::new(keys::marks_pk(conversation_id))
                .with_limit(chatflow_kv::MAX_PAGE_SIZE)
                .after(cursor);
            let page = self.kv.query(keys::RECEIPTS, query).await?;
            for item in &page.items {
                marks.push((item.sk.clone(), codec::decode(item)?));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(marks),
            }
        }
    }

    /// The live marks of a user in every conversation, by conversation id.
    /// Read from the secondary index: eventually consistent on DynamoDB.
    pub async fn user_marks(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, MarkRecord)>, ReceiptsError> {
        let mut marks = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::new(keys::user_gsi(user_id))
                .with_limit(chatflow_kv::MAX_PAGE_SIZE)
                .after(cursor);
            let page = self.kv.query_index(keys::RECEIPTS, query).await?;
            for item in &page.items {
                let record: MarkRecord = codec::decode(item)?;
                if let (true, Some((_, conversation))) = (record.live, &item.gsi1) {
                    marks.push((conversation.clone(), record));
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(marks),
            }
        }
    }

    /// A user's settings (the defaults, version 0, when never set).
    pub async fn settings(
        &self,
        user_id: &str,
    ) -> Result<Versioned<SettingsRecord>, ReceiptsError> {
        let item = self
            .kv
            .get(
                keys::RECEIPTS,
                &keys::settings_pk(user_id),
                keys::SETTINGS_SK,
            )
            .await?;
        versioned(item.as_ref())
    }

    /// Applies a write's ops, all or nothing.
    pub async fn commit(&self, ops: Vec<TxOp>) -> Result<(), chatflow_kv::KvError> {
        self.kv.transact(ops).await
    }
}

fn versioned<T: serde::de::DeserializeOwned + Default>(
    item: Option<&chatflow_kv::Item>,
) -> Result<Versioned<T>, ReceiptsError> {
    match item {
        None => Ok(Versioned::default()),
        Some(item) => Ok(Versioned {
            value: codec::decode(item)?,
            version: item.version,
        }),
    }
}

fn put(item: chatflow_kv::Item, condition: chatflow_kv::Condition) -> TxOp {
    TxOp::Put {
        table: keys::RECEIPTS.to_owned(),
        item,
        condition,
    }
}

/// Replaces the head read as `from` with `to`.
pub fn head_op(
    conversation_id: &str,
    from: &Versioned<Head>,
    to: &Head,
) -> Result<TxOp, ReceiptsError> {
    Ok(put(
        codec::head_item(conversation_id, to)?,
        from.condition(),
    ))
}

/// Indexes a countable message (once: a second put of the same seq fails).
pub fn index_op(conversation_id: &str, entry: &IndexEntry) -> Result<TxOp, ReceiptsError> {
    Ok(put(
        codec::index_item(conversation_id, entry)?,
        chatflow_kv::Condition::IfAbsent,
    ))
}

/// Replaces the marks read as `from` with `to`.
pub fn mark_op(
    conversation_id: &str,
    user_id: &str,
    from: &Versioned<MarkRecord>,
    to: &MarkRecord,
) -> Result<TxOp, ReceiptsError> {
    Ok(put(
        codec::mark_item(conversation_id, user_id, to)?,
        from.condition(),
    ))
}

/// Replaces the settings read as `from` with `to`.
pub fn settings_op(
    user_id: &str,
    from: &Versioned<SettingsRecord>,
    to: &SettingsRecord,
) -> Result<TxOp, ReceiptsError> {
    Ok(put(codec::settings_item(user_id, to)?, from.condition()))
}

/// Queues an event for the relay under `sk`.
pub fn outbox_op(sk: String, record: &OutboxRecord) -> Result<TxOp, ReceiptsError> {
    Ok(TxOp::Put {
        table: keys::OUTBOX.to_owned(),
        item: codec::outbox_item(sk, record)?,
        condition: chatflow_kv::Condition::IfAbsent,
    })
}
