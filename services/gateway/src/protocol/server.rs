//! The frames the server sends ([`ServerFrame`]) and its typed error codes.

use serde::Serialize;

use super::live::ReceiptUpdate;
use crate::ports::{MemberMarks, PresenceView};

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

/// A `message` frame borrowing its message, so one encoding serves every
/// recipient; the same JSON as [`ServerFrame::Message`].
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "message")]
pub struct MessageFrame<'a> {
    /// The message, as stored.
    pub message: &'a serde_json::Value,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_message_frame_encodes_like_the_owned_one() {
        let message = serde_json::json!({"conversation_id": "g_1", "seq": 3, "text": "hi"});
        let borrowed = serde_json::to_string(&MessageFrame { message: &message }).unwrap();
        let owned = serde_json::to_string(&ServerFrame::Message { message }).unwrap();
        assert_eq!(borrowed, owned);
    }
}
