//! The router's outbox on the message store: `router_outbox`, read and
//! emptied by the shared relay of `chatflow_outbox::kv`.

use chatflow_outbox::kv::{KvOutbox, KvOutboxLayout};

use super::{MessageStore, OutboxRecord, keys};
use crate::RouterError;

/// Where events wait: a partition per shard of conversations, sorted as
/// `<conversation>#<seq>`, so per conversation in seq order.
const OUTBOX_LAYOUT: KvOutboxLayout = KvOutboxLayout {
    table: keys::OUTBOX,
    shards: keys::OUTBOX_SHARDS,
    shard_pk: keys::outbox_pk,
    shard_of: keys::shard_of,
};

impl MessageStore {
    /// The outbox the relay reads and empties.
    pub fn outbox(&self) -> KvOutbox<OutboxRecord> {
        KvOutbox::new(self.kv.clone(), OUTBOX_LAYOUT)
    }

    /// Pending events in every shard (for tests and diagnostics; reads it all).
    pub async fn outbox_len(&self) -> Result<usize, RouterError> {
        Ok(self.outbox().pending().await?)
    }
}
