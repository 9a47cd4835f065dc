//! The router's stored messages in the protocol's JSON form (`docs/protocol.md`).

use chatflow_proto::messages::v1::{self as pb, MessageKind};
use serde_json::{Map, Value, json};

/// The protocol name of a message kind.
pub fn kind_name(kind: i32) -> &'static str {
    match MessageKind::try_from(kind) {
        Ok(MessageKind::Text) => "text",
        Ok(MessageKind::Edit) => "edit",
        Ok(MessageKind::Delete) => "delete",
        Ok(MessageKind::Reaction) => "reaction",
        Ok(MessageKind::System) => "system",
        Ok(MessageKind::Unspecified) | Err(_) => "unknown",
    }
}

/// A message as clients receive it in `message` frames: empty and zero
/// fields are left out, so each kind carries only what it uses.
pub fn message_json(message: &pb::Message) -> Value {
    let mut out = Map::new();
    out.insert("conversation_id".into(), json!(message.conversation_id));
    out.insert("seq".into(), json!(message.seq));
    out.insert("kind".into(), json!(kind_name(message.kind)));
    out.insert("sender_id".into(), json!(message.sender_id));
    out.insert("server_ts".into(), json!(message.server_ts_ms));
    let optional = [
        (
            "device_id",
            (!message.device_id.is_empty()).then(|| json!(message.device_id)),
        ),
        (
            "client_msg_id",
            (!message.client_msg_id.is_empty()).then(|| json!(message.client_msg_id)),
        ),
        (
            "text",
            (!message.text.is_empty()).then(|| json!(message.text)),
        ),
        (
            "reply_to",
            (message.reply_to_seq > 0).then(|| json!(message.reply_to_seq)),
        ),
        (
            "mentions",
            (!message.mentions.is_empty()).then(|| json!(message.mentions)),
        ),
        (
            "attachments",
            (!message.attachments.is_empty()).then(|| json!(message.attachments)),
        ),
        (
            "target_seq",
            (message.target_seq > 0).then(|| json!(message.target_seq)),
        ),
        (
            "reaction",
            message
                .reaction
                .as_ref()
                .map(|r| json!({"emoji": r.emoji, "removed": r.removed})),
        ),
        (
            "edit_seqs",
            (!message.edit_seqs.is_empty()).then(|| json!(message.edit_seqs)),
        ),
        (
            "deleted_by_seq",
            (message.deleted_by_seq > 0).then(|| json!(message.deleted_by_seq)),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            out.insert(name.into(), value);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_carries_only_its_fields() {
        let text = pb::Message {
            conversation_id: "g_1".into(),
            seq: 3,
            kind: MessageKind::Text as i32,
            sender_id: "u1".into(),
            client_msg_id: "m-1".into(),
            server_ts_ms: 7,
            text: "hi".into(),
            reply_to_seq: 2,
            ..Default::default()
        };
        assert_eq!(
            message_json(&text),
            json!({"conversation_id": "g_1", "seq": 3, "kind": "text", "sender_id": "u1",
                "server_ts": 7, "client_msg_id": "m-1", "text": "hi", "reply_to": 2})
        );
        let reaction = pb::Message {
            kind: MessageKind::Reaction as i32,
            target_seq: 3,
            reaction: Some(pb::Reaction {
                emoji: "👍".into(),
                removed: false,
            }),
            ..Default::default()
        };
        let value = message_json(&reaction);
        assert_eq!(
            (value["kind"].as_str(), value["target_seq"].as_u64()),
            (Some("reaction"), Some(3))
        );
        assert_eq!(value["reaction"], json!({"emoji": "👍", "removed": false}));
        assert!(value.get("text").is_none());
    }
}
