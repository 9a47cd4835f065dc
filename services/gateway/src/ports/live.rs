//! What the gateway needs for the live extras around messages: the receipts
//! service (delivered and read marks) and presence (who is online, and
//! whose presence a client follows). The launcher plugs in the real
//! services, in-process or remote; tests plug in fakes.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Caller, PortError};

/// One member's position in a conversation, as a viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMarks {
    /// The member.
    pub user_id: String,
    /// The highest `seq` one of the member's devices received.
    pub delivered_seq: u64,
    /// The highest `seq` the member read; absent when hidden by privacy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_seq: Option<u64>,
}

/// The answer to a read mark: the reader's marks and unread count after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMarked {
    /// The reader's marks.
    pub marks: MemberMarks,
    /// The reader's unread messages left in the conversation.
    pub unread: u64,
}

/// One conversation's receipts as a viewer may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationReceipts {
    /// Where.
    pub conversation_id: String,
    /// Every member's marks.
    pub members: Vec<MemberMarks>,
    /// The viewer's unread messages.
    pub unread: u64,
}

/// Receipts of several conversations for one viewer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptSnapshot {
    /// The conversations the viewer is a member of.
    pub conversations: Vec<ConversationReceipts>,
    /// Whether the viewer shares read receipts (and so sees others').
    pub reads_shared: bool,
}

/// The receipts service as the gateway uses it.
#[async_trait]
pub trait ReceiptPort: Send + Sync + 'static {
    /// Records that the caller's device received messages up to each `seq`.
    async fn mark_delivered(
        &self,
        caller: &Caller,
        marks: Vec<(String, u64)>,
    ) -> Result<(), PortError>;

    /// Marks a conversation read up to `seq` by the caller.
    async fn mark_read(
        &self,
        caller: &Caller,
        conversation_id: &str,
        seq: u64,
    ) -> Result<ReadMarked, PortError>;

    /// The receipts of `conversations` as the user may see them.
    async fn snapshot(
        &self,
        user_id: &str,
        conversations: Vec<String>,
    ) -> Result<ReceiptSnapshot, PortError>;

    /// Whether the user shares read receipts.
    async fn reads_shared(&self, user_id: &str) -> Result<bool, PortError>;
}

/// A user's presence as a viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceView {
    /// Whose.
    pub user_id: String,
    /// `online`, `away` or `offline` (also when hidden).
    pub status: String,
    /// Last activity, Unix ms; absent when hidden or unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<i64>,
}

/// A live subscription to some users' presence; dropping it ends it.
pub struct Watch {
    /// What the viewer may see of each user now.
    pub initial: Vec<PresenceView>,
    /// Later changes, coalesced per user; dropped when the buffer is full.
    pub updates: mpsc::Receiver<PresenceView>,
    /// Keeps the subscription alive.
    pub guard: Box<dyn Send + Sync>,
}

/// One connected device's presence; dropping it reports the device offline
/// (unless another connection of the same device remains).
pub trait DeviceSession: Send + Sync {
    /// The client says it is idle or in the background (`away`) or active.
    fn set_away(&self, away: bool);
    /// The client did something (sent a message, typed, read).
    fn touch(&self);
}

/// Presence as the gateway uses it.
#[async_trait]
pub trait PresencePort: Send + Sync + 'static {
    /// The caller's device is connected (online).
    fn connect(&self, caller: &Caller) -> Box<dyn DeviceSession>;

    /// Follows the presence of `users` as `viewer` may see it.
    async fn watch(&self, viewer: &str, users: Vec<String>) -> Result<Watch, PortError>;
}
