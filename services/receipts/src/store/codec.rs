//! How receipts records are encoded in store items (JSON payloads; the item
//! version is the optimistic-concurrency token and orders events).

use bytes::Bytes;
use chatflow_kv::{Condition, Item};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use chatflow_outbox::kv::OutboxRecord;

use super::keys;
use crate::ReceiptsError;

/// A record with the version of the item it was read from (0: absent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versioned<T> {
    /// The record (the default when absent).
    pub value: T,
    /// The item version; 0 when there is no item.
    pub version: u64,
}

impl<T> Versioned<T> {
    /// Whether an item was found.
    pub fn exists(&self) -> bool {
        self.version > 0
    }

    /// The condition that a write replacing exactly this read needs.
    pub fn condition(&self) -> Condition {
        if self.version == 0 {
            Condition::IfAbsent
        } else {
            Condition::IfVersion(self.version)
        }
    }

    /// The version the item has once such a conditional write committed.
    pub fn next_version(&self) -> u64 {
        self.version + 1
    }
}

/// A conversation as the receipts service has seen it in message events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Head {
    /// The highest seq of any message seen (any kind).
    pub last_seq: u64,
    /// How many countable messages were indexed: the last ordinal.
    pub ordinal: u64,
    /// The seq of the last indexed countable message.
    pub last_countable_seq: u64,
    /// Whether marks were created for the members of the time (first countable message).
    pub seeded: bool,
}

/// One indexed countable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Its seq (the sort key).
    #[serde(skip)]
    pub seq: u64,
    /// 1 for the conversation's first countable message, then 2, 3, …
    pub ordinal: u64,
    /// Its author.
    pub sender_id: String,
}

/// One member's marks in one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MarkRecord {
    /// Highest seq received by any device (never below `read`).
    pub delivered: u64,
    /// Highest seq read.
    pub read: u64,
    /// The conversation's last seq when the member joined (0: from the start).
    pub joined_seq: u64,
    /// False for a member who left (a tombstone, kept for its version).
    pub live: bool,
    /// When the marks last changed (Unix ms).
    pub updated_ms: i64,
}

/// A user's stored settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// Whether read marks are shared.
    pub reads_shared: bool,
    /// When they last changed (Unix ms).
    pub updated_ms: i64,
}

impl Default for SettingsRecord {
    fn default() -> Self {
        Self {
            reads_shared: true,
            updated_ms: 0,
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Bytes, ReceiptsError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ReceiptsError::Internal(format!("cannot encode record: {e}")))
}

/// Decodes the JSON payload of `item`.
pub fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, ReceiptsError> {
    serde_json::from_slice(&item.data)
        .map_err(|e| ReceiptsError::Internal(format!("corrupt item {}/{}: {e}", item.pk, item.sk)))
}

/// The head item of a conversation.
pub fn head_item(conversation_id: &str, head: &Head) -> Result<Item, ReceiptsError> {
    Ok(Item::new(
        keys::head_pk(conversation_id),
        keys::HEAD_SK,
        encode(head)?,
    ))
}

/// The index item of one countable message.
pub fn index_item(conversation_id: &str, entry: &IndexEntry) -> Result<Item, ReceiptsError> {
    Ok(Item::new(
        keys::index_pk(conversation_id),
        keys::seq_sk(entry.seq),
        encode(entry)?,
    ))
}

/// The index entry in `item`.
pub fn index_from_item(item: &Item) -> Result<IndexEntry, ReceiptsError> {
    let mut entry: IndexEntry = decode(item)?;
    entry.seq = keys::parse_seq_sk(&item.sk)
        .ok_or_else(|| ReceiptsError::Internal(format!("bad index key {}", item.sk)))?;
    Ok(entry)
}

/// The marks item of a member; live marks are listed under the user in gsi1.
pub fn mark_item(
    conversation_id: &str,
    user_id: &str,
    mark: &MarkRecord,
) -> Result<Item, ReceiptsError> {
    let item = Item::new(keys::marks_pk(conversation_id), user_id, encode(mark)?);
    Ok(if mark.live {
        item.with_gsi1(keys::user_gsi(user_id), conversation_id)
    } else {
        item
    })
}

/// The settings item of a user.
pub fn settings_item(user_id: &str, settings: &SettingsRecord) -> Result<Item, ReceiptsError> {
    Ok(Item::new(
        keys::settings_pk(user_id),
        keys::SETTINGS_SK,
        encode(settings)?,
    ))
}

/// The outbox item of an event keyed `record.key`, sorted as `sk`.
pub fn outbox_item(sk: String, record: &OutboxRecord) -> Result<Item, ReceiptsError> {
    Ok(Item::new(
        keys::outbox_pk(keys::shard_of(&record.key)),
        sk,
        encode(record)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_marks_are_indexed_under_the_user_and_tombstones_are_not() {
        let live = MarkRecord {
            delivered: 3,
            read: 2,
            live: true,
            ..MarkRecord::default()
        };
        let item = mark_item("g1", "ann", &live).unwrap();
        assert_eq!(item.gsi1, Some(("u#ann".to_owned(), "g1".to_owned())));
        assert_eq!(decode::<MarkRecord>(&item).unwrap(), live);
        let gone = MarkRecord {
            live: false,
            ..live
        };
        assert_eq!(mark_item("g1", "ann", &gone).unwrap().gsi1, None);
    }

    #[test]
    fn index_entries_round_trip_with_their_seq() {
        let entry = IndexEntry {
            seq: 42,
            ordinal: 7,
            sender_id: "bob".into(),
        };
        let item = index_item("g1", &entry).unwrap();
        assert_eq!(item.sk, "00000000000000000042");
        assert_eq!(index_from_item(&item).unwrap(), entry);
    }

    #[test]
    fn an_unread_item_is_written_only_if_still_absent() {
        assert_eq!(Versioned::<()>::default().condition(), Condition::IfAbsent);
    }
}
