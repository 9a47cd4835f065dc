//! The receipts outbox on the key-value store: `receipts_outbox`, read and
//! emptied by the shared relay of `chatflow_outbox::kv`.

use chatflow_events::OutgoingRecord;
use chatflow_outbox::kv::{KvOutbox, KvOutboxLayout, KvRecord};

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

impl KvRecord for OutboxRecord {
    type Error = ReceiptsError;

    fn to_outgoing(&self) -> Result<OutgoingRecord, ReceiptsError> {
        self.to_record()
    }

    fn created_ms(&self) -> i64 {
        self.created_ms
    }
}

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
