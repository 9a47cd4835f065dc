//! The relay's side of the outbox table: read a shard in order, remove
//! what was published.

use chatflow_kv::{Condition, Cursor, MAX_TX_OPS, Query, TxOp};

use super::{OutboxRecord, ReceiptsStore, codec, keys};
use crate::ReceiptsError;

/// One pending event as read from its shard.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// Its sort key, to remove it once published.
    pub sk: String,
    /// What to publish.
    pub record: OutboxRecord,
}

impl ReceiptsStore {
    /// Up to `limit` pending events of `shard` after `cursor`, in key order
    /// (per member or user: version order), and where the next page starts.
    pub async fn outbox_page(
        &self,
        shard: u32,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<(Vec<OutboxEntry>, Option<Cursor>), ReceiptsError> {
        let query = Query::new(keys::outbox_pk(shard))
            .with_limit(limit.clamp(1, chatflow_kv::MAX_PAGE_SIZE))
            .after(cursor);
        let page = self.kv.query(keys::OUTBOX, query).await?;
        let entries = page
            .items
            .iter()
            .map(|item| {
                Ok(OutboxEntry {
                    sk: item.sk.clone(),
                    record: codec::decode(item)?,
                })
            })
            .collect::<Result<Vec<_>, ReceiptsError>>()?;
        Ok((entries, page.next))
    }

    /// Removes published events of `shard`; removing twice is harmless.
    pub async fn outbox_remove(&self, shard: u32, sks: &[String]) -> Result<(), ReceiptsError> {
        let pk = keys::outbox_pk(shard);
        for chunk in sks.chunks(MAX_TX_OPS) {
            let ops = chunk
                .iter()
                .map(|sk| TxOp::Delete {
                    table: keys::OUTBOX.to_owned(),
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
    pub async fn outbox_len(&self) -> Result<usize, ReceiptsError> {
        let mut total = 0;
        for shard in 0..keys::OUTBOX_SHARDS {
            let mut cursor = None;
            loop {
                let (entries, next) = self.outbox_page(shard, cursor, 1000).await?;
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
