//! [`OutboxRecord`]: an event as the services on the key-value store keep
//! it in their outbox items — the bus record, with its bytes in base64 so
//! the item stays JSON — until the relay publishes it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chatflow_events::OutgoingRecord;
use serde::{Deserialize, Serialize};

use super::KvRecord;

/// One event waiting in the outbox, ready to publish as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    /// Destination topic.
    pub topic: String,
    /// Record key (the aggregate's id: conversation or user).
    pub key: String,
    /// The encoded envelope, base64.
    pub payload: String,
    /// Record headers, values base64.
    pub headers: Vec<(String, String)>,
    /// When the change committed (Unix ms), for the relay-lag gauge.
    pub created_ms: i64,
}

impl OutboxRecord {
    /// A record for `payload` with `headers`, committed now.
    pub fn new(topic: &str, key: &str, payload: &[u8], headers: &[(String, Vec<u8>)]) -> Self {
        Self {
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload: STANDARD.encode(payload),
            headers: headers
                .iter()
                .map(|(name, value)| (name.clone(), STANDARD.encode(value)))
                .collect(),
            created_ms: chatflow_runtime::clock::now_ms(),
        }
    }

    /// The bus record to publish; fails only on an item not written by
    /// [`OutboxRecord::new`] (bad base64).
    pub fn to_record(&self) -> Result<OutgoingRecord, base64::DecodeError> {
        let mut record = OutgoingRecord::new(
            self.topic.clone(),
            self.key.clone().into_bytes(),
            STANDARD.decode(&self.payload)?,
        );
        for (name, value) in &self.headers {
            record = record.with_header(name.clone(), STANDARD.decode(value)?);
        }
        Ok(record)
    }
}

impl KvRecord for OutboxRecord {
    type Error = base64::DecodeError;

    fn to_outgoing(&self) -> Result<OutgoingRecord, Self::Error> {
        self.to_record()
    }

    fn created_ms(&self) -> i64 {
        self.created_ms
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn outbox_records_rebuild_the_bus_record() {
        let headers = vec![("ce_id".to_owned(), b"e1".to_vec())];
        let record = OutboxRecord::new("t", "c1", b"\x00\x01payload", &headers);
        let out = record.to_record().unwrap();
        assert_eq!(out.payload.as_ref(), b"\x00\x01payload");
        assert_eq!(out.key, b"c1");
        assert_eq!(out.headers, headers);
    }

    #[test]
    fn a_tampered_payload_is_an_error_not_a_panic() {
        let mut record = OutboxRecord::new("t", "c1", b"x", &[]);
        record.payload = "not base64!".into();
        assert!(record.to_record().is_err());
    }
}
