//! The WebSocket protocol, version 1 (`docs/protocol.md`): JSON text
//! frames tagged by `type`. Every client request carries an `id` the server
//! echoes on its answer; server pushes (`message`, `drain`...) carry none.

mod decode;
mod frames;
mod live;
mod server;

pub use decode::{DecodeError, Limits, MAX_WATCH_USERS, decode_client_frame};
pub use frames::{
    AckFrame, ClientFrame, DeleteFrame, EditFrame, HelloFrame, MessageBody, ReactFrame, SendFrame,
};
pub use live::{DeviceStatus, ReadFrame, ReceiptUpdate, TypingFrame, WatchFrame};
pub use server::{ErrorCode, MessageFrame, ServerFrame, Welcome};

/// The subprotocol a client offers in `Sec-WebSocket-Protocol`; the server
/// selects it. A second entry `access_token.<jwt>` may carry the token.
pub const SUBPROTOCOL: &str = "chatflow.v1";
/// Prefix of the token entry in `Sec-WebSocket-Protocol`.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "access_token.";
/// The protocol version `welcome` announces.
pub const PROTOCOL_VERSION: u32 = 1;

/// WebSocket close codes the gateway uses (4000–4999 are application codes).
pub mod close {
    /// Normal end (client logout, or the server after a `drain` deadline).
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect after the `drain` delay.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame was larger than the announced maximum.
    pub const TOO_BIG: u16 = 1009;
    /// Protocol violation before a session existed (no `hello`, binary frame...).
    pub const PROTOCOL_ERROR: u16 = 4000;
    /// Missing, invalid or expired token; or the refresh window passed.
    pub const UNAUTHENTICATED: u16 = 4001;
    /// The session was revoked (logout elsewhere, password reset).
    pub const REVOKED: u16 = 4003;
    /// The client read too slowly; reconnect and resume later.
    pub const RESUME_LATER: u16 = 4008;
    /// No frame (not even a ping) within the idle timeout.
    pub const IDLE: u16 = 4009;
}
