//! [`ReceiptsApi`]: the receipts service as other services see it, in
//! process or over gRPC, so callers (the gateway, notifications) never know
//! which.
//!
//! The in-process implementation is the engine itself (get it from
//! [`crate::ReceiptsService::client`], or the [`ReceiptsHandle`] the launcher
//! publishes); [`crate::GrpcReceiptsClient`] reaches a receipts service in
//! another process. Callers are trusted to have authenticated the user (and,
//! for marks, to bound seqs by what they delivered); membership is still
//! checked on every call.

use std::sync::Arc;

use async_trait::async_trait;

use crate::engine::Engine;
use crate::{
    MarkDelivered, MarkRead, MarkReadOutcome, ReceiptSettings, ReceiptsError, Snapshot,
    UnreadCounts,
};

/// The receipts service's API.
///
/// Marks are monotonic and idempotent: a lower or equal seq changes nothing.
/// Retriable errors (`Unavailable`) mean "maybe not recorded": retry.
#[async_trait]
pub trait ReceiptsApi: Send + Sync {
    /// Records one device's delivery acks (1 to 256 conversations); returns
    /// how many marks moved. Conversations the user is not a member of are skipped.
    async fn mark_delivered(&self, request: MarkDelivered) -> Result<u32, ReceiptsError>;

    /// Marks a conversation read up to a seq; `PermissionDenied` for a non-member.
    async fn mark_read(&self, request: MarkRead) -> Result<MarkReadOutcome, ReceiptsError>;

    /// The receipts of up to 1000 conversations as `viewer_id` may see them;
    /// conversations the viewer is not a member of are left out.
    async fn snapshot(
        &self,
        viewer_id: &str,
        conversation_ids: &[String],
    ) -> Result<Snapshot, ReceiptsError>;

    /// The user's unread counts, per conversation and in total.
    async fn unread(&self, user_id: &str) -> Result<UnreadCounts, ReceiptsError>;

    /// The user's receipt settings.
    async fn settings(&self, user_id: &str) -> Result<ReceiptSettings, ReceiptsError>;
}

/// A shared receipts client, in process or remote.
pub type ReceiptsApiRef = Arc<dyn ReceiptsApi>;

/// The in-process receipts service, as published in the platform's handles
/// for other services of the same process.
#[derive(Clone)]
pub struct ReceiptsHandle(pub ReceiptsApiRef);

#[async_trait]
impl ReceiptsApi for Engine {
    async fn mark_delivered(&self, request: MarkDelivered) -> Result<u32, ReceiptsError> {
        Engine::mark_delivered(self, &request).await
    }

    async fn mark_read(&self, request: MarkRead) -> Result<MarkReadOutcome, ReceiptsError> {
        Engine::mark_read(self, &request, false).await
    }

    async fn snapshot(
        &self,
        viewer_id: &str,
        conversation_ids: &[String],
    ) -> Result<Snapshot, ReceiptsError> {
        Engine::snapshot(self, viewer_id, conversation_ids).await
    }

    async fn unread(&self, user_id: &str) -> Result<UnreadCounts, ReceiptsError> {
        self.unread_counts(user_id).await
    }

    async fn settings(&self, user_id: &str) -> Result<ReceiptSettings, ReceiptsError> {
        Engine::settings(self, user_id).await
    }
}
