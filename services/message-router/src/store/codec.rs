//! How router records are encoded in store items (JSON payloads; the item
//! version carries the head's seq).

use bytes::Bytes;
use chatflow_kv::Item;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use chatflow_outbox::kv::OutboxRecord;
use sha2::{Digest, Sha256};

use super::keys;
use crate::{Message, RouterError, SendAck};

/// A conversation's head: its last seq and the time stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// The last seq (0 before the first message).
    pub seq: u64,
    /// The server time of that message; later messages never go below it.
    pub ts_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct HeadRecord {
    ts_ms: i64,
}

/// What an idempotency item remembers about a stored write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRecord {
    /// The original ack (`duplicate = false`).
    pub ack: SendAck,
    /// Digest of the request content, to tell a retry from a reused id.
    pub fingerprint: String,
}

fn encode<T: Serialize>(value: &T) -> Result<Bytes, RouterError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| RouterError::Corrupt(format!("cannot encode record: {e}")))
}

fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, RouterError> {
    serde_json::from_slice(&item.data)
        .map_err(|e| RouterError::Corrupt(format!("item {}/{}: {e}", item.pk, item.sk)))
}

/// The item storing `message`.
pub fn message_item(message: &Message) -> Result<Item, RouterError> {
    Ok(Item::new(
        keys::conversation_pk(&message.conversation_id),
        keys::seq_sk(message.seq),
        encode(message)?,
    ))
}

/// The message stored in `item`.
pub fn message_from_item(item: &Item) -> Result<Message, RouterError> {
    decode(item)
}

/// The head item for a conversation whose last message is `head`.
pub fn head_item(conversation_id: &str, head: Head) -> Result<Item, RouterError> {
    Ok(Item::new(
        keys::conversation_pk(conversation_id),
        keys::HEAD_SK,
        encode(&HeadRecord { ts_ms: head.ts_ms })?,
    ))
}

/// The head stored in `item` (its version is the seq).
pub fn head_from_item(item: &Item) -> Result<Head, RouterError> {
    let record: HeadRecord = decode(item)?;
    Ok(Head {
        seq: item.version,
        ts_ms: record.ts_ms,
    })
}

/// The idempotency item of a stored write, expiring at `expires_at` (Unix s).
pub fn ack_item(sender_id: &str, record: &AckRecord, expires_at: i64) -> Result<Item, RouterError> {
    let ack = &record.ack;
    Ok(Item::new(
        keys::idempotency_pk(&ack.conversation_id, sender_id, &ack.client_msg_id),
        keys::ACK_SK,
        encode(record)?,
    )
    .with_expires_at(expires_at))
}

/// The ack record in `item`.
pub fn ack_from_item(item: &Item) -> Result<AckRecord, RouterError> {
    decode(item)
}

/// The outbox item of an event about `message`.
pub fn outbox_item(message: &Message, record: &OutboxRecord) -> Result<Item, RouterError> {
    Ok(Item::new(
        keys::outbox_pk(keys::shard_of(&message.conversation_id)),
        keys::outbox_sk(&message.conversation_id, message.seq),
        encode(record)?,
    ))
}

/// The outbox record in `item`.
pub fn outbox_from_item(item: &Item) -> Result<OutboxRecord, RouterError> {
    decode(item)
}

/// A digest of what a write asks for, independent of when and where it was
/// stored: equal for a retry, different for a reused `client_msg_id`.
pub fn fingerprint(message: &Message) -> String {
    let content = (
        message.kind,
        &message.text,
        message.reply_to_seq,
        &message.mentions,
        &message.attachments,
        message.target_seq,
        &message.reaction,
    );
    let json = serde_json::to_vec(&content).unwrap_or_default();
    hex_digest(&json)
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageKind;

    fn message() -> Message {
        Message {
            conversation_id: "c1".into(),
            seq: 7,
            kind: MessageKind::Text,
            sender_id: "u1".into(),
            device_id: "d1".into(),
            client_msg_id: "m1".into(),
            server_ts_ms: 1_700_000_000_000,
            text: "hi".into(),
            reply_to_seq: Some(3),
            mentions: vec!["u2".into()],
            attachments: vec![],
            target_seq: None,
            reaction: None,
            edit_seqs: vec![],
            deleted_by_seq: None,
        }
    }

    #[test]
    fn messages_round_trip_through_items() {
        let item = message_item(&message()).unwrap();
        assert_eq!(
            (item.pk.as_str(), item.sk.as_str()),
            ("c#c1", "00000000000000000007")
        );
        assert_eq!(message_from_item(&item).unwrap(), message());
        let garbage = Item::new("c#c1", "x", "{");
        assert!(matches!(
            message_from_item(&garbage),
            Err(RouterError::Corrupt(_))
        ));
    }

    #[test]
    fn fingerprints_ignore_placement_but_not_content() {
        let a = message();
        let mut moved = a.clone();
        moved.seq = 8;
        moved.server_ts_ms += 5;
        moved.device_id = "d2".into();
        assert_eq!(fingerprint(&a), fingerprint(&moved));
        let mut changed = a.clone();
        changed.text = "hello".into();
        assert_ne!(fingerprint(&a), fingerprint(&changed));
    }
}
