//! The receipts vocabulary callers use, in process, over gRPC (converted in
//! `convert`) and as REST JSON.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One device's delivery acknowledgement for one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveredMark {
    /// The conversation.
    pub conversation_id: String,
    /// The highest seq the device received.
    pub seq: u64,
}

/// A batch of delivery acknowledgements from one device (the gateway's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkDelivered {
    /// The user who owns the device.
    pub user_id: String,
    /// The acknowledging device.
    pub device_id: String,
    /// One mark per conversation, 1 to [`crate::MAX_BATCH`]; a conversation
    /// named twice counts with its highest seq.
    pub marks: Vec<DeliveredMark>,
}

/// "Read up to `seq`" from one of the user's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    /// The reader.
    pub user_id: String,
    /// The device used, for the event; may be empty.
    pub device_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// Everything up to and including this seq is read.
    pub seq: u64,
}

/// One member's position in a conversation, as some viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberMarks {
    /// The member.
    pub user_id: String,
    /// The highest seq any of the member's devices received (0: none yet).
    pub delivered_seq: u64,
    /// The highest seq the member read; `null` when the member keeps read
    /// receipts private or the viewer does (always shown to the member).
    pub read_seq: Option<u64>,
}

/// The answer to a read mark: the reader's marks and unread count after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MarkReadOutcome {
    /// The reader's marks (their own: `read_seq` always set).
    pub marks: MemberMarks,
    /// The reader's unread messages in the conversation.
    pub unread: u64,
}

/// The receipt state of one conversation for one viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationReceipts {
    /// The conversation.
    pub conversation_id: String,
    /// Every current member, the viewer included, by user id.
    pub members: Vec<MemberMarks>,
    /// The viewer's unread messages in it.
    pub unread: u64,
}

/// The receipt state of several conversations for one viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    /// The conversations the viewer is a member of, in request order.
    pub conversations: Vec<ConversationReceipts>,
    /// Whether the viewer shares read receipts (and so sees others').
    pub reads_shared: bool,
}

/// Unread messages in one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationUnread {
    /// The conversation.
    pub conversation_id: String,
    /// Text messages by others after the user's read mark.
    pub unread: u64,
    /// The user's read mark.
    pub read_seq: u64,
}

/// A user's unread counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct UnreadCounts {
    /// Sum over every conversation.
    pub total: u64,
    /// Conversations with at least one unread message, by conversation id.
    pub conversations: Vec<ConversationUnread>,
}

/// A user's receipt settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptSettings {
    /// Whether others see the user's read marks (and the user sees theirs).
    pub reads_shared: bool,
}

impl Default for ReceiptSettings {
    fn default() -> Self {
        Self { reads_shared: true }
    }
}

/// Who received and read one message, as the viewer may see it.
///
/// Counted over the members other than the viewer and the message's sender
/// (known for text messages) who were members when it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageReceipts {
    /// The message.
    pub seq: u64,
    /// Members counted.
    pub members: u64,
    /// How many of them received it (readers included).
    pub delivered: u64,
    /// How many of them read it, among those sharing read receipts; `null`
    /// when the viewer keeps their own read receipts private.
    pub read: Option<u64>,
    /// Who received it, by user id.
    pub delivered_to: Vec<String>,
    /// Who read it, by user id; `null` like `read`.
    pub read_by: Option<Vec<String>>,
}
