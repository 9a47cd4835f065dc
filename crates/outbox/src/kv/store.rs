//! The relay's side of an outbox table: read a shard in order, remove what
//! was published.

use std::marker::PhantomData;

use chatflow_kv::{Condition, Cursor, KvStoreRef, MAX_PAGE_SIZE, MAX_TX_OPS, Query, TxOp};

use super::{KvOutboxError, KvOutboxLayout, KvRecord};

/// One pending event as read from its shard.
#[derive(Debug, Clone)]
pub struct KvOutboxEntry<R> {
    /// Its sort key, to remove it once published.
    pub sk: String,
    /// What to publish.
    pub record: R,
}

/// A service's outbox table on one store, holding records of type `R`.
pub struct KvOutbox<R> {
    kv: KvStoreRef,
    layout: KvOutboxLayout,
    record: PhantomData<fn() -> R>,
}

impl<R> Clone for KvOutbox<R> {
    fn clone(&self) -> Self {
        Self {
            kv: self.kv.clone(),
            layout: self.layout,
            record: PhantomData,
        }
    }
}

impl<R: KvRecord> KvOutbox<R> {
    /// The outbox laid out as `layout` on `kv`.
    pub fn new(kv: KvStoreRef, layout: KvOutboxLayout) -> Self {
        Self {
            kv,
            layout,
            record: PhantomData,
        }
    }

    /// Where the outbox lives and how it is sharded.
    pub fn layout(&self) -> &KvOutboxLayout {
        &self.layout
    }

    /// Up to `limit` pending events of `shard` after `cursor`, in key order,
    /// and where the next page starts.
    pub async fn page(
        &self,
        shard: u32,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<(Vec<KvOutboxEntry<R>>, Option<Cursor>), KvOutboxError> {
        let query = Query::new((self.layout.shard_pk)(shard))
            .with_limit(limit.clamp(1, MAX_PAGE_SIZE))
            .after(cursor);
        let page = self.kv.query(self.layout.table, query).await?;
        let entries = page
            .items
            .iter()
            .map(|item| {
                let record =
                    serde_json::from_slice(&item.data).map_err(|e| KvOutboxError::Corrupt {
                        pk: item.pk.clone(),
                        sk: item.sk.clone(),
                        reason: e.to_string(),
                    })?;
                Ok(KvOutboxEntry {
                    sk: item.sk.clone(),
                    record,
                })
            })
            .collect::<Result<Vec<_>, KvOutboxError>>()?;
        Ok((entries, page.next))
    }

    /// Removes published events of `shard`; removing twice is harmless.
    pub async fn remove(&self, shard: u32, sks: &[String]) -> Result<(), KvOutboxError> {
        let pk = (self.layout.shard_pk)(shard);
        for chunk in sks.chunks(MAX_TX_OPS) {
            let ops = chunk
                .iter()
                .map(|sk| TxOp::Delete {
                    table: self.layout.table.to_owned(),
                    pk: pk.clone(),
                    sk: sk.clone(),
                    condition: Condition::None,
                })
                .collect();
            self.kv.transact(ops).await?;
        }
        Ok(())
    }

    /// Pending events in every shard (for tests and diagnostics; reads it all).
    pub async fn pending(&self) -> Result<usize, KvOutboxError> {
        let mut total = 0;
        for shard in 0..self.layout.shards {
            let mut cursor = None;
            loop {
                let (entries, next) = self.page(shard, cursor, MAX_PAGE_SIZE).await?;
                total += entries.len();
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(total)
    }
}
