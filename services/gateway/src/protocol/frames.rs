//! The frames themselves: what clients send ([`ClientFrame`]) and what the
//! server sends ([`ServerFrame`]). Unknown fields are refused, so a typo in a
//! client is an `invalid_frame` error instead of a silently ignored option.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::live::{DeviceStatus, ReadFrame, ReceiptUpdate, TypingFrame, WatchFrame};
use crate::ports::{MemberMarks, PresenceView};

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

/// `welcome`: the session is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Welcome {
    /// The `hello`'s id.
    pub id: String,
    /// Protocol version.
    pub protocol: u32,
    /// Who the token says the caller is.
    pub user_id: String,
    /// The auth session.
    pub session_id: String,
    /// Send something (a `ping` will do) at least this often.
    pub heartbeat_secs: u64,
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
}

/// Typed error codes of `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, unknown fields, missing fields, wrong types, invalid values.
    InvalidFrame,
    /// A `type` this protocol version does not have.
    UnknownType,
    /// Larger than `max_frame_bytes`.
    TooLarge,
    /// A frame that needs a session came before `welcome`.
    NotReady,
    /// The token is missing, invalid or expired.
    Unauthenticated,
    /// The caller may not do this (not a member, blocked...).
    Forbidden,
    /// The target does not exist.
    NotFound,
    /// Conflicts with the current state (e.g. editing a deleted message).
    Conflict,
    /// Too many requests; retry after `retry_after_ms`.
    RateLimited,
    /// A dependency failed or is overloaded; retry.
    Unavailable,
    /// The requested history is no longer stored.
    HistoryGone,
    /// A bug on our side.
    Internal,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`.
    Welcome(Welcome),
    /// A send, edit, delete or reaction is stored with this `seq`.
    Ack {
        /// The request's id.
        id: String,
        /// Where.
        conversation_id: String,
        /// Its place in the conversation's order.
        seq: u64,
        /// The server's time of storage, Unix milliseconds.
        server_ts: i64,
        /// The client's id for it.
        client_msg_id: String,
        /// This was a retry of an already stored request.
        duplicate: bool,
    },
    /// A message (or edit, delete, reaction, system notice) of a conversation.
    Message {
        /// The message, as stored.
        message: serde_json::Value,
    },
    /// A replay asked for by `hello` or `resume` is complete up to `seq`;
    /// live messages of the conversation follow.
    Replayed {
        /// The request's id.
        id: String,
        /// Where.
        conversation_id: String,
        /// The newest `seq` replayed (the position the device now has).
        seq: u64,
    },
    /// A failed request (with its id) or a connection-level problem (without).
    Error {
        /// The failed request's id, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// What kind of failure.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
        /// Whether retrying the same request may succeed.
        retriable: bool,
        /// For `rate_limited` and `unavailable`: when to retry.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's id.
        id: String,
    },
    /// Answer to `refresh`: the new token's expiry.
    Refreshed {
        /// The request's id.
        id: String,
        /// Unix seconds.
        expires_at: i64,
    },
    /// The access token expires soon: send `refresh` within the window.
    TokenExpiring {
        /// Seconds left before the connection is closed with 4001.
        close_in_secs: u64,
    },
    /// The server is going away: reconnect (and resume) after the delay.
    Drain {
        /// Jittered per connection, so clients do not all return at once.
        reconnect_after_ms: u64,
    },
    /// Answer to `read`: the reader's marks and unread count now.
    Marked {
        /// The request's id.
        id: String,
        /// Where.
        conversation_id: String,
        /// The read mark (never lower than before).
        read_seq: u64,
        /// Unread messages left in the conversation.
        unread: u64,
    },
    /// A member's delivered or read mark moved.
    Receipt(ReceiptUpdate),
    /// Every member's marks in a conversation, after its replay.
    Receipts {
        /// Where.
        conversation_id: String,
        /// Each member's marks (read marks hidden by privacy left out).
        members: Vec<MemberMarks>,
        /// The viewer's unread messages in it.
        unread: u64,
    },
    /// Answer to `watch`: the watched users' presence now.
    Watching {
        /// The request's id.
        id: String,
        /// Each watched user.
        users: Vec<PresenceView>,
    },
    /// A watched user's presence changed (ephemeral).
    Presence(PresenceView),
    /// Someone in a conversation started or stopped typing (ephemeral).
    Typing {
        /// Where.
        conversation_id: String,
        /// Who.
        user_id: String,
        /// Started or stopped.
        active: bool,
        /// Treat as stopped after this long without a repeat.
        ttl_ms: u64,
    },
}
