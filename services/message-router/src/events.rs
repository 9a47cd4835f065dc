//! The events the router publishes, one topic per kind of change, keyed by
//! conversation id so each topic keeps a conversation's order.
//!
//! Each record is the protobuf `chatflow.messages.v1.Message` in the
//! standard envelope (`chatflow_outbox::envelope_for`), with the envelope
//! id, type and source in headers and the writer's trace context. The
//! envelope is built when the write commits and stored in the outbox, so a
//! re-publish after a crash carries the same id and consumers drop it. Order
//! holds per topic and conversation; a consumer of several topics orders a
//! conversation's events by `seq`, which is gapless across all of them.

use chatflow_outbox::{EventHeaders, envelope_for};
use prost::Message as _;

use crate::store::OutboxRecord;
use crate::{Message, MessageKind, convert};

/// Text messages and system notices.
pub const CREATED_TOPIC: &str = "chatflow.messages.created";
/// Edits.
pub const EDITED_TOPIC: &str = "chatflow.messages.edited";
/// Deletes for everyone.
pub const DELETED_TOPIC: &str = "chatflow.messages.deleted";
/// Reactions added or removed.
pub const REACTED_TOPIC: &str = "chatflow.messages.reacted";

/// Every topic the router publishes on.
pub const TOPICS: [&str; 4] = [CREATED_TOPIC, EDITED_TOPIC, DELETED_TOPIC, REACTED_TOPIC];

/// Partitions the launcher creates each topic with.
pub const TOPIC_PARTITIONS: u32 = 8;

/// The name in the `source` of every envelope.
pub const SOURCE: &str = "message-router";

/// The topic an event about `kind` goes to.
pub fn topic_for(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Text | MessageKind::System => CREATED_TOPIC,
        MessageKind::Edit => EDITED_TOPIC,
        MessageKind::Delete => DELETED_TOPIC,
        MessageKind::Reaction => REACTED_TOPIC,
    }
}

/// The outbox record announcing `message`, envelope and headers included.
pub fn outbox_record(message: &Message) -> OutboxRecord {
    let topic = topic_for(message.kind);
    let body = convert::message_to_proto(message);
    let envelope = envelope_for(topic, SOURCE, &message.conversation_id, &body);
    let mut headers = vec![
        (
            EventHeaders::ID.to_owned(),
            envelope.id.clone().into_bytes(),
        ),
        (EventHeaders::TYPE.to_owned(), topic.as_bytes().to_vec()),
        (EventHeaders::SOURCE.to_owned(), SOURCE.as_bytes().to_vec()),
    ];
    chatflow_events::inject_trace_context(&mut headers);
    OutboxRecord::new(
        topic,
        &message.conversation_id,
        &envelope.encode_to_vec(),
        &headers,
    )
}

#[cfg(test)]
mod tests {
    use chatflow_proto::events::v1::EventEnvelope;
    use chatflow_proto::messages::v1 as pb;
    use prost::Message as _;

    use super::*;

    #[test]
    fn records_carry_the_message_in_an_envelope() {
        let message = Message {
            conversation_id: "c1".into(),
            seq: 3,
            kind: MessageKind::Delete,
            sender_id: "u1".into(),
            device_id: "d1".into(),
            client_msg_id: "m3".into(),
            server_ts_ms: 5,
            text: String::new(),
            reply_to_seq: None,
            mentions: vec![],
            attachments: vec![],
            target_seq: Some(1),
            reaction: None,
            edit_seqs: vec![],
            deleted_by_seq: None,
        };
        let record = outbox_record(&message).to_record().unwrap();
        assert_eq!(record.topic, DELETED_TOPIC);
        assert_eq!(record.key, b"c1");
        let envelope = EventEnvelope::decode(record.payload.as_ref()).unwrap();
        assert_eq!(envelope.r#type, DELETED_TOPIC);
        assert_eq!(envelope.subject, "c1");
        let id = record.headers.iter().find(|(n, _)| n == "ce_id").unwrap();
        assert_eq!(id.1, envelope.id.as_bytes());
        let body = pb::Message::decode(envelope.data.as_slice()).unwrap();
        assert_eq!((body.seq, body.target_seq), (3, 1));
        assert_eq!(body.kind(), pb::MessageKind::Delete);
    }
}
