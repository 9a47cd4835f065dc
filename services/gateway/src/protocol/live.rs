//! Frames for the live extras around messages: read marks and receipts,
//! presence subscriptions, and typing indicators (`docs/protocol.md`).

use serde::{Deserialize, Serialize};

use crate::ports::MemberMarks;

/// `read`: the user has read the conversation up to `seq` (on this device).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadFrame {
    /// Request id, echoed on `marked`.
    pub id: String,
    /// Where.
    pub conversation_id: String,
    /// Everything up to and including this `seq` is read.
    pub seq: u64,
}

/// `watch`: follow the presence of these users and of the members of a
/// conversation (replaces the previous watch; an empty one ends it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchFrame {
    /// Request id, echoed on `watching`.
    pub id: String,
    /// Users to follow (contacts, typically).
    #[serde(default)]
    pub user_ids: Vec<String>,
    /// A conversation whose members to follow (the one open on screen).
    #[serde(default)]
    pub conversation_id: Option<String>,
}

/// What a device says about itself in a `presence` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// In the foreground, in use.
    Online,
    /// Idle or in the background.
    Away,
}

/// `typing`: the user started (or stopped) typing in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingFrame {
    /// Where.
    pub conversation_id: String,
    /// Started (repeat every few seconds while typing) or stopped.
    pub active: bool,
}

/// `receipt`: a member's marks in a conversation moved. A user's own
/// devices also get their unread counts, to clear badges everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptUpdate {
    /// Where.
    pub conversation_id: String,
    /// Whose marks moved, and where they are now.
    #[serde(flatten)]
    pub marks: MemberMarks,
    /// The member's unread count in the conversation (own devices only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
    /// The member's unread count over all conversations (own devices only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_unread: Option<u64>,
}
