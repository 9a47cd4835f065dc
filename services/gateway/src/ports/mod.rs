//! What the gateway needs from the rest of the fleet, as small traits: the
//! message router (store and read messages) and the groups service (who is
//! in a conversation). The launcher plugs in the real clients, in-process or
//! over gRPC; the gateway never knows which.

use async_trait::async_trait;

use crate::protocol::{ErrorCode, MessageBody};

/// The caller of a request, from its verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `sub`.
    pub user_id: String,
    /// `sid`.
    pub session_id: String,
    /// `did`.
    pub device_id: String,
}

/// A change to a conversation a client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submit {
    /// A new message.
    Send {
        /// Where.
        conversation_id: String,
        /// Idempotency id.
        client_msg_id: String,
        /// What.
        body: MessageBody,
    },
    /// New text for the caller's message `target_seq`.
    Edit {
        /// Where.
        conversation_id: String,
        /// Idempotency id.
        client_msg_id: String,
        /// The edited message.
        target_seq: u64,
        /// The new text.
        text: String,
    },
    /// Delete `target_seq` for everyone.
    Delete {
        /// Where.
        conversation_id: String,
        /// Idempotency id.
        client_msg_id: String,
        /// The deleted message.
        target_seq: u64,
    },
    /// Add or remove a reaction on `target_seq`.
    React {
        /// Where.
        conversation_id: String,
        /// Idempotency id.
        client_msg_id: String,
        /// The message reacted to.
        target_seq: u64,
        /// The emoji.
        emoji: String,
        /// Take it back instead.
        remove: bool,
    },
}

/// The router's answer to a [`Submit`]: stored, with this place in the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Where.
    pub conversation_id: String,
    /// Its `seq`.
    pub seq: u64,
    /// Storage time, Unix milliseconds.
    pub server_ts: i64,
    /// The client's id for it.
    pub client_msg_id: String,
    /// A retry of an already stored request.
    pub duplicate: bool,
}

/// One stored message, as clients see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Its place in the conversation.
    pub seq: u64,
    /// The client-facing JSON (see `docs/protocol.md`).
    pub message: serde_json::Value,
}

/// A failed call, already in protocol terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct PortError {
    /// The protocol error code.
    pub code: ErrorCode,
    /// Detail for the client.
    pub message: String,
    /// Whether a retry may succeed.
    pub retriable: bool,
    /// When to retry, if known.
    pub retry_after_ms: Option<u64>,
}

impl PortError {
    /// An error that a retry will not fix.
    pub fn fatal(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retriable: false,
            retry_after_ms: None,
        }
    }

    /// A dependency failed; retry later.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: message.into(),
            retriable: true,
            retry_after_ms: Some(1000),
        }
    }
}

/// The message router as the gateway uses it.
#[async_trait]
pub trait MessagePort: Send + Sync + 'static {
    /// Stores a send, edit, delete or reaction; answers only once stored.
    async fn submit(&self, caller: &Caller, request: Submit) -> Result<Stored, PortError>;

    /// Up to `limit` messages after `after_seq`, oldest first, if the caller
    /// may read the conversation. An empty page means the caller is up to date.
    async fn history(
        &self,
        caller: &Caller,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, PortError>;
}

/// The groups service as the fan-out uses it.
#[async_trait]
pub trait MemberPort: Send + Sync + 'static {
    /// The current members of a conversation.
    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, PortError>;
}

mod live;

pub use live::{
    ConversationReceipts, DeviceSession, MemberMarks, PresencePort, PresenceView, ReadMarked,
    ReceiptPort, ReceiptSnapshot, Watch,
};
