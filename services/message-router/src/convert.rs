//! Conversions between the router's model and `chatflow.messages.v1`.
//!
//! Protobuf uses 0 for "none" in seq fields (seqs start at 1); requests
//! arriving over gRPC are converted here and then validated like any other.

use chatflow_errors::ErrorKind;
use chatflow_proto::messages::v1 as pb;

use crate::{
    Caller, DeleteRequest, EditRequest, HistoryPage, HistoryRequest, Message, MessageKind,
    ReactRequest, Reaction, RouterError, SendAck, SendRequest, SystemNotice, VersionsRequest,
};

fn some_seq(seq: u64) -> Option<u64> {
    (seq != 0).then_some(seq)
}

/// The wire kind of a message kind.
pub fn kind_to_proto(kind: MessageKind) -> pb::MessageKind {
    match kind {
        MessageKind::Text => pb::MessageKind::Text,
        MessageKind::Edit => pb::MessageKind::Edit,
        MessageKind::Delete => pb::MessageKind::Delete,
        MessageKind::Reaction => pb::MessageKind::Reaction,
        MessageKind::System => pb::MessageKind::System,
    }
}

fn kind_from_proto(kind: i32) -> Result<MessageKind, RouterError> {
    match pb::MessageKind::try_from(kind) {
        Ok(pb::MessageKind::Text) => Ok(MessageKind::Text),
        Ok(pb::MessageKind::Edit) => Ok(MessageKind::Edit),
        Ok(pb::MessageKind::Delete) => Ok(MessageKind::Delete),
        Ok(pb::MessageKind::Reaction) => Ok(MessageKind::Reaction),
        Ok(pb::MessageKind::System) => Ok(MessageKind::System),
        _ => Err(RouterError::Remote {
            kind: ErrorKind::Internal,
            message: format!("unknown message kind {kind}"),
        }),
    }
}

/// A message as published and served over gRPC.
pub fn message_to_proto(message: &Message) -> pb::Message {
    pb::Message {
        conversation_id: message.conversation_id.clone(),
        seq: message.seq,
        kind: kind_to_proto(message.kind) as i32,
        sender_id: message.sender_id.clone(),
        device_id: message.device_id.clone(),
        client_msg_id: message.client_msg_id.clone(),
        server_ts_ms: message.server_ts_ms,
        text: message.text.clone(),
        reply_to_seq: message.reply_to_seq.unwrap_or(0),
        mentions: message.mentions.clone(),
        attachments: message.attachments.clone(),
        target_seq: message.target_seq.unwrap_or(0),
        reaction: message.reaction.as_ref().map(|r| pb::Reaction {
            emoji: r.emoji.clone(),
            removed: r.removed,
        }),
        edit_seqs: message.edit_seqs.clone(),
        deleted_by_seq: message.deleted_by_seq.unwrap_or(0),
    }
}

/// A message received over gRPC or from the bus.
pub fn message_from_proto(message: pb::Message) -> Result<Message, RouterError> {
    Ok(Message {
        kind: kind_from_proto(message.kind)?,
        conversation_id: message.conversation_id,
        seq: message.seq,
        sender_id: message.sender_id,
        device_id: message.device_id,
        client_msg_id: message.client_msg_id,
        server_ts_ms: message.server_ts_ms,
        text: message.text,
        reply_to_seq: some_seq(message.reply_to_seq),
        mentions: message.mentions,
        attachments: message.attachments,
        target_seq: some_seq(message.target_seq),
        reaction: message.reaction.map(|r| Reaction {
            emoji: r.emoji,
            removed: r.removed,
        }),
        edit_seqs: message.edit_seqs,
        deleted_by_seq: some_seq(message.deleted_by_seq),
    })
}

/// An ack on the wire.
pub fn ack_to_proto(ack: SendAck) -> pb::SendAck {
    pb::SendAck {
        conversation_id: ack.conversation_id,
        seq: ack.seq,
        server_ts_ms: ack.server_ts_ms,
        client_msg_id: ack.client_msg_id,
        duplicate: ack.duplicate,
    }
}

/// An ack from the wire; a response without one is a remote bug.
pub fn ack_from_proto(ack: Option<pb::SendAck>) -> Result<SendAck, RouterError> {
    let ack = ack.ok_or_else(|| RouterError::Remote {
        kind: ErrorKind::Internal,
        message: "response without an ack".into(),
    })?;
    Ok(SendAck {
        conversation_id: ack.conversation_id,
        seq: ack.seq,
        server_ts_ms: ack.server_ts_ms,
        client_msg_id: ack.client_msg_id,
        duplicate: ack.duplicate,
    })
}

fn caller_to_proto(caller: &Caller) -> Option<pb::Caller> {
    Some(pb::Caller {
        user_id: caller.user_id.clone(),
        device_id: caller.device_id.clone(),
    })
}

/// The caller of a gRPC request; it must be present.
pub fn caller_from_proto(caller: Option<pb::Caller>) -> Result<Caller, RouterError> {
    let caller = caller.ok_or_else(|| RouterError::invalid("caller is required"))?;
    Ok(Caller::new(caller.user_id, caller.device_id))
}

/// `Send` on the wire.
pub fn send_to_proto(request: &SendRequest) -> pb::SendRequest {
    pb::SendRequest {
        caller: caller_to_proto(&request.caller),
        conversation_id: request.conversation_id.clone(),
        client_msg_id: request.client_msg_id.clone(),
        text: request.text.clone(),
        reply_to_seq: request.reply_to_seq.unwrap_or(0),
        mentions: request.mentions.clone(),
        attachments: request.attachments.clone(),
    }
}

/// `Send` from the wire.
pub fn send_from_proto(request: pb::SendRequest) -> Result<SendRequest, RouterError> {
    Ok(SendRequest {
        caller: caller_from_proto(request.caller)?,
        conversation_id: request.conversation_id,
        client_msg_id: request.client_msg_id,
        text: request.text,
        reply_to_seq: some_seq(request.reply_to_seq),
        mentions: request.mentions,
        attachments: request.attachments,
    })
}

/// `Edit` on the wire.
pub fn edit_to_proto(request: &EditRequest) -> pb::EditRequest {
    pb::EditRequest {
        caller: caller_to_proto(&request.caller),
        conversation_id: request.conversation_id.clone(),
        client_msg_id: request.client_msg_id.clone(),
        target_seq: request.target_seq,
        text: request.text.clone(),
    }
}

/// `Edit` from the wire.
pub fn edit_from_proto(request: pb::EditRequest) -> Result<EditRequest, RouterError> {
    Ok(EditRequest {
        caller: caller_from_proto(request.caller)?,
        conversation_id: request.conversation_id,
        client_msg_id: request.client_msg_id,
        target_seq: request.target_seq,
        text: request.text,
    })
}

/// `Delete` on the wire.
pub fn delete_to_proto(request: &DeleteRequest) -> pb::DeleteRequest {
    pb::DeleteRequest {
        caller: caller_to_proto(&request.caller),
        conversation_id: request.conversation_id.clone(),
        client_msg_id: request.client_msg_id.clone(),
        target_seq: request.target_seq,
    }
}

/// `Delete` from the wire.
pub fn delete_from_proto(request: pb::DeleteRequest) -> Result<DeleteRequest, RouterError> {
    Ok(DeleteRequest {
        caller: caller_from_proto(request.caller)?,
        conversation_id: request.conversation_id,
        client_msg_id: request.client_msg_id,
        target_seq: request.target_seq,
    })
}

/// `React` on the wire.
pub fn react_to_proto(request: &ReactRequest) -> pb::ReactRequest {
    pb::ReactRequest {
        caller: caller_to_proto(&request.caller),
        conversation_id: request.conversation_id.clone(),
        client_msg_id: request.client_msg_id.clone(),
        target_seq: request.target_seq,
        reaction: Some(pb::Reaction {
            emoji: request.reaction.emoji.clone(),
            removed: request.reaction.removed,
        }),
    }
}

/// `React` from the wire; the reaction is required.
pub fn react_from_proto(request: pb::ReactRequest) -> Result<ReactRequest, RouterError> {
    let reaction = request
        .reaction
        .ok_or_else(|| RouterError::invalid("reaction is required"))?;
    Ok(ReactRequest {
        caller: caller_from_proto(request.caller)?,
        conversation_id: request.conversation_id,
        client_msg_id: request.client_msg_id,
        target_seq: request.target_seq,
        reaction: Reaction {
            emoji: reaction.emoji,
            removed: reaction.removed,
        },
    })
}

/// `History` on the wire.
pub fn history_to_proto(request: &HistoryRequest) -> pb::HistoryRequest {
    pb::HistoryRequest {
        caller: caller_to_proto(&request.caller),
        conversation_id: request.conversation_id.clone(),
        after_seq: request.after_seq,
        before_seq: request.before_seq,
        limit: request.limit.unwrap_or(0),
    }
}

/// `History` from the wire (a limit of 0 means the default).
pub fn history_from_proto(request: pb::HistoryRequest) -> Result<HistoryRequest, RouterError> {
    Ok(HistoryRequest {
        caller: caller_from_proto(request.caller)?,
        conversation_id: request.conversation_id,
        after_seq: request.after_seq,
        before_seq: request.before_seq,
        limit: (request.limit != 0).then_some(request.limit),
    })
}

/// A history page on the wire.
pub fn page_to_proto(page: &HistoryPage) -> pb::HistoryResponse {
    pb::HistoryResponse {
        messages: page.messages.iter().map(message_to_proto).collect(),
        has_more: page.has_more,
        last_seq: page.last_seq,
    }
}

/// A history page from the wire.
pub fn page_from_proto(page: pb::HistoryResponse) -> Result<HistoryPage, RouterError> {
    Ok(HistoryPage {
        messages: page
            .messages
            .into_iter()
            .map(message_from_proto)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
        last_seq: page.last_seq,
    })
}

/// `Versions` on the wire.
pub fn versions_to_proto(request: &VersionsRequest) -> pb::VersionsRequest {
    pb::VersionsRequest {
        caller: caller_to_proto(&request.caller),
        conversation_id: request.conversation_id.clone(),
        seq: request.seq,
    }
}

/// `Versions` from the wire.
pub fn versions_from_proto(request: pb::VersionsRequest) -> Result<VersionsRequest, RouterError> {
    Ok(VersionsRequest {
        caller: caller_from_proto(request.caller)?,
        conversation_id: request.conversation_id,
        seq: request.seq,
    })
}

/// `SendSystem` on the wire.
pub fn system_to_proto(notice: &SystemNotice) -> pb::SendSystemRequest {
    pb::SendSystemRequest {
        conversation_id: notice.conversation_id.clone(),
        client_msg_id: notice.client_msg_id.clone(),
        text: notice.text.clone(),
        mentions: notice.mentions.clone(),
    }
}

/// `SendSystem` from the wire.
pub fn system_from_proto(request: pb::SendSystemRequest) -> SystemNotice {
    SystemNotice {
        conversation_id: request.conversation_id,
        client_msg_id: request.client_msg_id,
        text: request.text,
        mentions: request.mentions,
    }
}
