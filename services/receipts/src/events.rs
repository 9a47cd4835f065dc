//! The events the receipts service publishes, built when a change commits
//! and stored in the outbox with it, so a re-publish after a crash carries
//! the same envelope id and consumers drop the copy.
//!
//! Each record is the protobuf event in the standard envelope
//! (`chatflow_outbox::envelope_for`), with the envelope id, type and source
//! in headers and the writer's trace context.

use chatflow_outbox::{EventHeaders, envelope_for};
use chatflow_proto::receipts::v1::{ReceiptSettingsChanged, ReceiptsUpdated};
use prost::Message as _;

use crate::store::OutboxRecord;

/// A member's marks moved (`ReceiptsUpdated`), keyed by conversation id.
pub const UPDATED_TOPIC: &str = "chatflow.receipts.updated";
/// A user turned read receipts on or off (`ReceiptSettingsChanged`), keyed by user id.
pub const SETTINGS_CHANGED_TOPIC: &str = "chatflow.receipts.settings_changed";
/// Every topic the service publishes on.
pub const TOPICS: [&str; 2] = [UPDATED_TOPIC, SETTINGS_CHANGED_TOPIC];
/// Partitions the launcher creates each topic with.
pub const TOPIC_PARTITIONS: u32 = 8;
/// The name in the `source` of every envelope.
pub const SOURCE: &str = "receipts";

fn record(topic: &str, key: &str, body: &impl prost::Message) -> OutboxRecord {
    let envelope = envelope_for(topic, SOURCE, key, body);
    let mut headers = vec![
        (
            EventHeaders::ID.to_owned(),
            envelope.id.clone().into_bytes(),
        ),
        (EventHeaders::TYPE.to_owned(), topic.as_bytes().to_vec()),
        (EventHeaders::SOURCE.to_owned(), SOURCE.as_bytes().to_vec()),
    ];
    chatflow_events::inject_trace_context(&mut headers);
    OutboxRecord::new(topic, key, &envelope.encode_to_vec(), &headers)
}

/// The outbox record announcing a member's new marks.
pub fn updated_record(event: &ReceiptsUpdated) -> OutboxRecord {
    record(UPDATED_TOPIC, &event.conversation_id, event)
}

/// The outbox record announcing a user's new setting.
pub fn settings_record(event: &ReceiptSettingsChanged) -> OutboxRecord {
    record(SETTINGS_CHANGED_TOPIC, &event.user_id, event)
}

#[cfg(test)]
mod tests {
    use chatflow_proto::events::v1::EventEnvelope;

    use super::*;

    #[test]
    fn records_carry_the_event_in_an_envelope_keyed_by_its_aggregate() {
        let event = ReceiptsUpdated {
            conversation_id: "g1".into(),
            user_id: "ann".into(),
            read_seq: 4,
            ..Default::default()
        };
        let out = updated_record(&event).to_record().unwrap();
        assert_eq!(
            (out.topic.as_str(), out.key.as_slice()),
            (UPDATED_TOPIC, &b"g1"[..])
        );
        let envelope = EventEnvelope::decode(out.payload.as_ref()).unwrap();
        assert_eq!(envelope.subject, "g1");
        let id = out.headers.iter().find(|(n, _)| n == "ce_id").unwrap();
        assert_eq!(id.1, envelope.id.as_bytes());
        assert_eq!(
            ReceiptsUpdated::decode(envelope.data.as_slice()).unwrap(),
            event
        );

        let changed = ReceiptSettingsChanged {
            user_id: "ann".into(),
            reads_shared: false,
            changed_at_ms: 1,
        };
        let out = settings_record(&changed).to_record().unwrap();
        assert_eq!(out.key, b"ann");
        assert_eq!(out.topic, SETTINGS_CHANGED_TOPIC);
    }
}
