//! The records that go into the bus and come out of it.

use bytes::Bytes;

/// One record to publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingRecord {
    /// Destination topic (without the connection's topic prefix).
    pub topic: String,
    /// Partitioning key: records with equal keys stay in order.
    pub key: Vec<u8>,
    /// The opaque event body.
    pub payload: Bytes,
    /// Metadata such as `traceparent`; names may repeat, order is kept.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl OutgoingRecord {
    /// A record without headers.
    pub fn new(
        topic: impl Into<String>,
        key: impl Into<Vec<u8>>,
        payload: impl Into<Bytes>,
    ) -> Self {
        Self {
            topic: topic.into(),
            key: key.into(),
            payload: payload.into(),
            headers: Vec::new(),
        }
    }

    /// Adds one header, keeping earlier ones.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One record received by a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Source topic (without the connection's topic prefix).
    pub topic: String,
    /// Partition of the topic the record lives in.
    pub partition: u32,
    /// Position of the record in its partition.
    pub offset: u64,
    /// The key the record was published with.
    pub key: Vec<u8>,
    /// The opaque event body.
    pub payload: Bytes,
    /// Headers as published.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Delivery {
    /// The value of the first header called `name`, if any.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// A copy carrying only what [`crate::Subscription::commit`] reads
    /// (topic, partition, offset), for wrappers that rename topics.
    pub(crate) fn position_only(&self, topic: String) -> Self {
        Self {
            topic,
            partition: self.partition,
            offset: self.offset,
            key: Vec::new(),
            payload: Bytes::new(),
            headers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_returns_the_first_match() {
        let d = Delivery {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            key: vec![],
            payload: Bytes::new(),
            headers: vec![("a".into(), b"1".to_vec()), ("a".into(), b"2".to_vec())],
        };
        assert_eq!(d.header("a"), Some(&b"1"[..]));
        assert_eq!(d.header("b"), None);
    }
}
