//! The frames clients send ([`ClientFrame`]); the server's are in
//! `server`. Unknown fields are refused, so a typo in a client is an
//! `invalid_frame` error instead of a silently ignored option.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::live::{DeviceStatus, ReadFrame, TypingFrame, WatchFrame};

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Opens the session: token (unless given in the subprotocol header)
    /// and where the device is in each conversation it wants replayed.
    Hello(HelloFrame),
    /// Asks for the replay of conversations after the given positions.
    Resume {
        /// Request id, echoed.
        id: String,
        /// Last `seq` the device has, by conversation id.
        positions: BTreeMap<String, u64>,
    },
    /// Sends a new message.
    Send(SendFrame),
    /// Edits one of the caller's messages.
    Edit(EditFrame),
    /// Deletes a message for everyone.
    Delete(DeleteFrame),
    /// Adds or removes a reaction.
    React(ReactFrame),
    /// Acknowledges receipt of messages up to `seq`.
    Ack(AckFrame),
    /// Marks a conversation read up to `seq`.
    Read(ReadFrame),
    /// Follows some users' presence.
    Watch(WatchFrame),
    /// Sets this device's own presence.
    Presence {
        /// Online (in use) or away (idle, background).
        status: DeviceStatus,
    },
    /// Typing started or stopped.
    Typing(TypingFrame),
    /// Replaces the access token before it expires.
    Refresh {
        /// Request id, echoed.
        id: String,
        /// A fresh access token of the same session.
        token: String,
    },
    /// Keep-alive; answered with `pong`.
    Ping {
        /// Request id, echoed.
        id: String,
    },
}

impl ClientFrame {
    /// The request id, if the frame has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Hello(f) => Some(&f.id),
            Self::Resume { id, .. } | Self::Refresh { id, .. } | Self::Ping { id } => Some(id),
            Self::Send(f) => Some(&f.id),
            Self::Edit(f) => Some(&f.id),
            Self::Delete(f) => Some(&f.id),
            Self::React(f) => Some(&f.id),
            Self::Ack(f) => f.id.as_deref(),
            Self::Read(f) => Some(&f.id),
            Self::Watch(f) => Some(&f.id),
            Self::Presence { .. } | Self::Typing(_) => None,
        }
    }

    /// The frame's type name, for metrics and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Resume { .. } => "resume",
            Self::Send(_) => "send",
            Self::Edit(_) => "edit",
            Self::Delete(_) => "delete",
            Self::React(_) => "react",
            Self::Ack(_) => "ack",
            Self::Read(_) => "read",
            Self::Watch(_) => "watch",
            Self::Presence { .. } => "presence",
            Self::Typing(_) => "typing",
            Self::Refresh { .. } => "refresh",
            Self::Ping { .. } => "ping",
        }
    }
}

/// `hello`: the first frame of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloFrame {
    /// Request id, echoed on `welcome`.
    pub id: String,
    /// The access token, when not sent in `Sec-WebSocket-Protocol`.
    #[serde(default)]
    pub token: Option<String>,
    /// Last `seq` the device has, by conversation: replayed before live traffic.
    #[serde(default)]
    pub resume: BTreeMap<String, u64>,
}

/// `send`: a new message in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendFrame {
    /// Request id, echoed on the `ack` or `error`.
    pub id: String,
    /// Where.
    pub conversation_id: String,
    /// The client's id for this message: a retry with the same id returns
    /// the original ack and never creates a second message.
    pub client_msg_id: String,
    /// UTF-8 text.
    #[serde(default)]
    pub text: String,
    /// The `seq` this replies to.
    #[serde(default)]
    pub reply_to: Option<u64>,
    /// Mentioned user ids.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Attached file ids.
    #[serde(default)]
    pub attachments: Vec<String>,
}

impl SendFrame {
    /// The message content of this send.
    pub fn body(&self) -> MessageBody {
        MessageBody {
            text: self.text.clone(),
            reply_to: self.reply_to,
            mentions: self.mentions.clone(),
            attachments: self.attachments.clone(),
        }
    }
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageBody {
    /// UTF-8 text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The `seq` this replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// Mentioned user ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// Attached file ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// `edit`: new text for one of the caller's messages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditFrame {
    /// Request id.
    pub id: String,
    /// Where.
    pub conversation_id: String,
    /// Idempotency id of this edit.
    pub client_msg_id: String,
    /// The message edited.
    pub target_seq: u64,
    /// Its new text.
    pub text: String,
}

/// `delete`: removes a message for everyone (a tombstone that takes a `seq`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteFrame {
    /// Request id.
    pub id: String,
    /// Where.
    pub conversation_id: String,
    /// Idempotency id of this delete.
    pub client_msg_id: String,
    /// The message deleted.
    pub target_seq: u64,
}

/// `react`: adds (or with `remove`, takes back) an emoji reaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactFrame {
    /// Request id.
    pub id: String,
    /// Where.
    pub conversation_id: String,
    /// Idempotency id of this reaction change.
    pub client_msg_id: String,
    /// The message reacted to.
    pub target_seq: u64,
    /// The emoji.
    pub emoji: String,
    /// Takes the reaction back.
    #[serde(default)]
    pub remove: bool,
}

/// `ack`: the device has every message of the conversation up to `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckFrame {
    /// Optional request id.
    #[serde(default)]
    pub id: Option<String>,
    /// Where.
    pub conversation_id: String,
    /// Highest `seq` received without a gap.
    pub seq: u64,
}
