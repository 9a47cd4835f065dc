//! Builds the protobuf envelope every domain event travels in.

use chatflow_proto::events::v1::EventEnvelope;
use prost::Message;

/// Header names carried on every event record, beside W3C trace context.
pub struct EventHeaders;

impl EventHeaders {
    /// The envelope id, so consumers can de-duplicate without decoding.
    pub const ID: &'static str = "ce_id";
    /// The event type (equal to the topic).
    pub const TYPE: &'static str = "ce_type";
    /// The producing service.
    pub const SOURCE: &'static str = "ce_source";
}

/// Wraps `message` in an [`EventEnvelope`] with a fresh time-ordered id.
pub fn envelope_for(
    event_type: &str,
    source: &str,
    subject: &str,
    message: &impl Message,
) -> EventEnvelope {
    let now = std::time::SystemTime::now();
    EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: event_type.to_owned(),
        source: source.to_owned(),
        time: Some(prost_types::Timestamp::from(now)),
        subject: subject.to_owned(),
        content_type: "application/protobuf".to_owned(),
        data: message.encode_to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_ids_are_unique() {
        let inner = EventEnvelope {
            id: "inner".into(),
            ..Default::default()
        };
        let a = envelope_for("chatflow.test.happened", "test", "k1", &inner);
        let b = envelope_for("chatflow.test.happened", "test", "k1", &inner);
        assert_ne!(a.id, b.id);
        let decoded = EventEnvelope::decode(a.encode_to_vec().as_slice()).unwrap_or_default();
        assert_eq!(decoded, a);
        let body = EventEnvelope::decode(decoded.data.as_slice()).unwrap_or_default();
        assert_eq!(body.id, "inner");
    }
}
