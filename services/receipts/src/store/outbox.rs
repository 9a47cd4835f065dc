//! The receipts outbox on the key-value store: `receipts_outbox`, read and
//! emptied by the shared relay of `chatflow_outbox::kv`.

use chatflow_outbox::kv::{KvOutbox, KvOutboxLayout};

use super::{OutboxRecord, ReceiptsStore, keys};
use crate::ReceiptsError;

/// Where events wait: a partition per shard of event keys (conversation or
/// user), per member or user in the order of the changed item's versions.
const OUTBOX_LAYOUT: KvOutboxLayout = KvOutboxLayout {
    table: keys::OUTBOX,
    shards: keys::OUTBOX_SHARDS,
    shard_pk: keys::outbox_pk,
    shard_of: keys::shard_of,
};

impl ReceiptsStore {
    /// The outbox the relay reads and empties.
    pub fn outbox(&self) -> KvOutbox<OutboxRecord> {
        KvOutbox::new(self.kv.clone(), OUTBOX_LAYOUT)
    }

    /// Pending events in every shard (for tests and diagnostics; reads it all).
    pub async fn outbox_len(&self) -> Result<usize, ReceiptsError> {
        Ok(self.outbox().pending().await?)
    }
}
