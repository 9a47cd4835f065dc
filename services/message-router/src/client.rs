//! [`RouterClient`]: the router as other services see it, in process or over
//! gRPC, so callers (the gateway, bots, the groups service) never know which.
//!
//! The in-process implementation is the engine itself (get it from
//! [`crate::RouterService::client`]); [`crate::GrpcRouterClient`] reaches a
//! router in another process. Both return the same [`RouterError`] kinds.

use std::sync::Arc;

use async_trait::async_trait;

use crate::engine::{Engine, WriteOp};
use crate::{
    DeleteRequest, EditRequest, HistoryPage, HistoryRequest, Message, ReactRequest, RouterError,
    SendAck, SendRequest, SystemNotice, VersionsRequest,
};

/// The message router's API.
///
/// Writes are acked only once stored; a retry with the same
/// `client_msg_id` (per sender and conversation) returns the original ack
/// with `duplicate = true`. Retriable errors (`ResourceExhausted`,
/// `Unavailable`) mean "not stored, or unknown": retry with the same id.
#[async_trait]
pub trait RouterClient: Send + Sync {
    /// Sends a message.
    async fn send(&self, request: SendRequest) -> Result<SendAck, RouterError>;

    /// Edits one of the caller's text messages; the edit takes its own seq.
    async fn edit(&self, request: EditRequest) -> Result<SendAck, RouterError>;

    /// Deletes one of the caller's text messages for everyone; the tombstone takes its own seq.
    async fn delete(&self, request: DeleteRequest) -> Result<SendAck, RouterError>;

    /// Adds or removes a reaction; it takes its own seq.
    async fn react(&self, request: ReactRequest) -> Result<SendAck, RouterError>;

    /// One page of a conversation, for members.
    async fn history(&self, request: HistoryRequest) -> Result<HistoryPage, RouterError>;

    /// The original of a text message, then each edit, for members.
    async fn versions(&self, request: VersionsRequest) -> Result<Vec<Message>, RouterError>;

    /// Posts a system notice on the urgent lane (services only; no membership check).
    async fn send_system(&self, notice: SystemNotice) -> Result<SendAck, RouterError>;
}

/// A shared router client, in process or remote.
pub type RouterClientRef = Arc<dyn RouterClient>;

/// The in-process router, as published in the platform's handles for other
/// services of the same process.
#[derive(Clone)]
pub struct RouterHandle(pub RouterClientRef);

#[async_trait]
impl RouterClient for Engine {
    async fn send(&self, request: SendRequest) -> Result<SendAck, RouterError> {
        self.submit(WriteOp::Send(request)).await
    }

    async fn edit(&self, request: EditRequest) -> Result<SendAck, RouterError> {
        self.submit(WriteOp::Edit(request)).await
    }

    async fn delete(&self, request: DeleteRequest) -> Result<SendAck, RouterError> {
        self.submit(WriteOp::Delete(request)).await
    }

    async fn react(&self, request: ReactRequest) -> Result<SendAck, RouterError> {
        self.submit(WriteOp::React(request)).await
    }

    async fn history(&self, request: HistoryRequest) -> Result<HistoryPage, RouterError> {
        self.read_history(&request).await
    }

    async fn versions(&self, request: VersionsRequest) -> Result<Vec<Message>, RouterError> {
        self.read_versions(&request).await
    }

    async fn send_system(&self, notice: SystemNotice) -> Result<SendAck, RouterError> {
        self.submit(WriteOp::System(notice)).await
    }
}
