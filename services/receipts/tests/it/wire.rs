//! What goes over the wire in tests: messages as the router publishes them,
//! read marks as the gateway sends them, and the service's events read back
//! from the bus with their envelopes checked.

use std::time::Duration;

use chatflow_events::Subscription;
use chatflow_message_router::{Message, MessageKind, Reaction};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::receipts::v1::{ReceiptSettingsChanged, ReceiptsUpdated};
use chatflow_receipts::UPDATED_TOPIC;
use prost::Message as _;

/// How long a test waits for events before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// A message as the router stores and publishes it.
pub fn message(conversation: &str, seq: u64, kind: MessageKind, sender: &str) -> Message {
    Message {
        conversation_id: conversation.into(),
        seq,
        kind,
        sender_id: sender.into(),
        device_id: format!("{sender}-phone"),
        client_msg_id: format!("m{seq}"),
        server_ts_ms: 1_700_000_000_000 + seq as i64,
        text: if kind == MessageKind::Text {
            format!("hello {seq}")
        } else {
            String::new()
        },
        reply_to_seq: None,
        mentions: vec![],
        attachments: vec![],
        target_seq: None,
        reaction: None,
        edit_seqs: vec![],
        deleted_by_seq: None,
    }
}

/// A text message.
pub fn text(conversation: &str, seq: u64, sender: &str) -> Message {
    message(conversation, seq, MessageKind::Text, sender)
}

/// An edit, delete or reaction aimed at `target`.
pub fn aimed(
    conversation: &str,
    seq: u64,
    kind: MessageKind,
    sender: &str,
    target: u64,
) -> Message {
    let mut m = message(conversation, seq, kind, sender);
    m.target_seq = Some(target);
    if kind == MessageKind::Reaction {
        m.reaction = Some(Reaction {
            emoji: "👍".into(),
            removed: false,
        });
    }
    if kind == MessageKind::Edit {
        m.text = "edited".into();
    }
    m
}

/// One event read back from the bus.
#[derive(Debug, Clone)]
pub enum Event {
    Updated(ReceiptsUpdated),
    Settings(ReceiptSettingsChanged),
}

/// Reads distinct events (by envelope id) until `done` holds for them;
/// checks the envelope of each on the way. Fails after [`PATIENCE`].
pub async fn collect_until(
    sub: &mut Box<dyn Subscription>,
    done: impl Fn(&[Event]) -> bool,
) -> Vec<Event> {
    let mut seen = std::collections::HashSet::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(&events) {
        let delivery = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("condition not met by {} events: {events:?}", events.len()))
            .unwrap();
        let envelope = EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
        assert_eq!(envelope.r#type, delivery.topic);
        assert_eq!(envelope.source, "receipts");
        assert_eq!(envelope.subject.as_bytes(), delivery.key.as_slice());
        let id = delivery.headers.iter().find(|(n, _)| n == "ce_id").unwrap();
        assert_eq!(id.1, envelope.id.as_bytes());
        if !seen.insert(envelope.id.clone()) {
            continue;
        }
        let event = if delivery.topic == UPDATED_TOPIC {
            let event = ReceiptsUpdated::decode(envelope.data.as_slice()).unwrap();
            assert_eq!(event.conversation_id.as_bytes(), delivery.key.as_slice());
            Event::Updated(event)
        } else {
            let event = ReceiptSettingsChanged::decode(envelope.data.as_slice()).unwrap();
            assert_eq!(event.user_id.as_bytes(), delivery.key.as_slice());
            Event::Settings(event)
        };
        events.push(event);
    }
    events
}

/// The `ReceiptsUpdated` events of `user` in `conversation`, in order.
pub fn updates_of<'a>(
    events: &'a [Event],
    user: &str,
    conversation: &str,
) -> Vec<&'a ReceiptsUpdated> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Updated(u) if u.user_id == user && u.conversation_id == conversation => Some(u),
            _ => None,
        })
        .collect()
}

/// Whether `events` hold an update of `user` in `conversation` with this read mark.
pub fn has_read(events: &[Event], user: &str, conversation: &str, read: u64) -> bool {
    updates_of(events, user, conversation)
        .iter()
        .any(|u| u.read_seq == read)
}

/// A read mark from `user`'s tablet.
pub fn read_req(user: &str, conversation: &str, seq: u64) -> chatflow_receipts::MarkRead {
    chatflow_receipts::MarkRead {
        user_id: user.into(),
        device_id: format!("{user}-tablet"),
        conversation_id: conversation.into(),
        seq,
    }
}
