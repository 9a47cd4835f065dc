//! The message model: what is stored per seq, what callers ask for, and the ack.
//!
//! Every write — a text message, an edit, a delete, a reaction, a system
//! notice — is a [`Message`] with its own `seq` in the conversation, so every
//! member folds the same sequence into the same state: edits replace the text
//! of their `target_seq` (the original and every edit stay stored, see
//! [`Message::edit_seqs`]), deletes blank it, reactions toggle per sender and
//! emoji.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A user's message: text, reply, mentions, attachments.
    Text,
    /// A new version of the text of `target_seq`.
    Edit,
    /// `target_seq` deleted for everyone.
    Delete,
    /// A reaction added to or removed from `target_seq`.
    Reaction,
    /// A notice posted by a service.
    System,
}

impl MessageKind {
    /// The name used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Reaction => "reaction",
            Self::System => "system",
        }
    }
}

/// A reaction carried by a [`MessageKind::Reaction`] message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reaction {
    /// The emoji, 1 to 16 characters.
    pub emoji: String,
    /// True when the sender takes the reaction back.
    #[serde(default)]
    pub removed: bool,
}

/// One message of a conversation, as stored, served and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    /// The conversation.
    pub conversation_id: String,
    /// Gapless, strictly increasing from 1 within the conversation.
    pub seq: u64,
    /// What the message is.
    pub kind: MessageKind,
    /// The author (`system` for notices).
    pub sender_id: String,
    /// The author's device.
    pub device_id: String,
    /// The author's idempotency key.
    pub client_msg_id: String,
    /// When the router stored it (Unix ms; non-decreasing with seq).
    pub server_ts_ms: i64,
    /// The text; empty for deletes and reactions, and once deleted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_seq: Option<u64>,
    /// Mentioned user ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// Attached file ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// For edits, deletes and reactions: the message they apply to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seq: Option<u64>,
    /// For reactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<Reaction>,
    /// For text messages: the seqs of their edits, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edit_seqs: Vec<u64>,
    /// For text messages and edits: the delete that removed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by_seq: Option<u64>,
}

impl Message {
    /// Whether a delete removed this message (its content is gone from storage).
    pub fn is_deleted(&self) -> bool {
        self.deleted_by_seq.is_some()
    }
}

/// The end user a write or read is made for, as authenticated by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The user id.
    pub user_id: String,
    /// The device the request came from.
    pub device_id: String,
}

impl Caller {
    /// A caller from its ids.
    pub fn new(user_id: impl Into<String>, device_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            device_id: device_id.into(),
        }
    }
}

/// A new message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// Who sends.
    pub caller: Caller,
    /// Where.
    pub conversation_id: String,
    /// 1 to 64 of `[A-Za-z0-9_-]`; a retry reuses it.
    pub client_msg_id: String,
    /// The text; may be empty when there are attachments.
    pub text: String,
    /// The message replied to; it must exist.
    pub reply_to_seq: Option<u64>,
    /// Mentioned user ids (well-formed; membership is not checked).
    pub mentions: Vec<String>,
    /// Attached file ids.
    pub attachments: Vec<String>,
}

/// A new version of one of the caller's text messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    /// Who edits; must be the author.
    pub caller: Caller,
    /// Where.
    pub conversation_id: String,
    /// The idempotency key of this edit.
    pub client_msg_id: String,
    /// The message edited.
    pub target_seq: u64,
    /// The new text.
    pub text: String,
}

/// Deletes one of the caller's text messages for everyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    /// Who deletes; must be the author.
    pub caller: Caller,
    /// Where.
    pub conversation_id: String,
    /// The idempotency key of this delete.
    pub client_msg_id: String,
    /// The message deleted.
    pub target_seq: u64,
}

/// Adds or removes a reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactRequest {
    /// Who reacts; any member.
    pub caller: Caller,
    /// Where.
    pub conversation_id: String,
    /// The idempotency key of this reaction.
    pub client_msg_id: String,
    /// The message reacted to.
    pub target_seq: u64,
    /// The reaction.
    pub reaction: Reaction,
}

/// A notice posted by a service on the urgent lane, without a membership check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemNotice {
    /// Where.
    pub conversation_id: String,
    /// The service's idempotency key (e.g. the id of the event it reacts to).
    pub client_msg_id: String,
    /// The notice.
    pub text: String,
    /// Users the notice is about.
    pub mentions: Vec<String>,
}

/// The router's answer to a write, given once the write is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SendAck {
    /// The conversation.
    pub conversation_id: String,
    /// The seq assigned.
    pub seq: u64,
    /// The server time stored with the message (Unix ms).
    pub server_ts_ms: i64,
    /// The caller's idempotency key, echoed.
    pub client_msg_id: String,
    /// True when this answers a retry of a write already stored.
    pub duplicate: bool,
}

/// A page of a conversation. With neither bound: the latest messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// Who reads; must be a member.
    pub caller: Caller,
    /// Which conversation.
    pub conversation_id: String,
    /// Only seqs greater than this (page forward from here).
    pub after_seq: Option<u64>,
    /// Only seqs smaller than this (page backward from here).
    pub before_seq: Option<u64>,
    /// Page size, 1 to the configured maximum (200); `None` for the default.
    pub limit: Option<u32>,
}

/// One page of history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// Messages in ascending seq order.
    pub messages: Vec<Message>,
    /// Whether more messages lie beyond this page in the paging direction
    /// (after the last one when paging forward, before the first otherwise).
    pub has_more: bool,
    /// The conversation's last seq when read (0 if empty).
    pub last_seq: u64,
}

/// The versions of one text message: the original, then each edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionsRequest {
    /// Who reads; must be a member.
    pub caller: Caller,
    /// Which conversation.
    pub conversation_id: String,
    /// The original message.
    pub seq: u64,
}
