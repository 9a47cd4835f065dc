//! The REST handlers, for the user of the bearer token.

use axum::Json;
use axum::extract::State;
use chatflow_authn::Authenticated;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{AppState, Body, RestError, Segments};
use crate::{MarkRead, MemberMarks, MessageReceipts, ReceiptSettings, UnreadCounts};

/// Body of `POST /v1/conversations/{id}/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// Everything up to and including this seq is read. At most the last
    /// seq the service has seen in the conversation (else 409 `beyond_head`).
    pub seq: u64,
}

/// The caller's marks in a conversation after a read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadView {
    /// The conversation.
    pub conversation_id: String,
    /// The caller's delivered mark.
    pub delivered_seq: u64,
    /// The caller's read mark (unchanged if the seq sent was not higher).
    pub read_seq: u64,
    /// The caller's unread messages in the conversation.
    pub unread: u64,
}

/// A conversation's receipts as the caller may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    /// The conversation.
    pub conversation_id: String,
    /// Every member, by user id; `read_seq` is `null` where privacy hides it.
    pub members: Vec<MemberMarks>,
    /// The caller's unread messages.
    pub unread: u64,
    /// Whether the caller shares read receipts (and so sees others').
    pub reads_shared: bool,
}

/// The caller's unread counts: conversations with unread messages, and the total.
#[utoipa::path(get, path = "/v1/receipts/unread", security(("bearer" = [])),
    responses((status = 200, body = UnreadCounts), (status = 401), (status = 503, body = super::ErrorBody)))]
pub(crate) async fn unread(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
) -> Result<Json<UnreadCounts>, RestError> {
    Ok(Json(state.engine.unread_counts(&user.user_id).await?))
}

/// Marks the conversation read up to `seq` (from the token's device).
#[utoipa::path(post, path = "/v1/conversations/{id}/read", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReadBody,
    responses((status = 200, body = ReadView), (status = 400, body = super::ErrorBody),
        (status = 401), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody, description = "`beyond_head`: seq after the last message")))]
pub(crate) async fn read(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    Segments(conversation_id): Segments<String>,
    Body(body): Body<ReadBody>,
) -> Result<Json<ReadView>, RestError> {
    let request = MarkRead {
        user_id: user.user_id,
        device_id: user.device_id,
        conversation_id,
        seq: body.seq,
    };
    let outcome = state.engine.mark_read(&request, true).await?;
    Ok(Json(ReadView {
        conversation_id: request.conversation_id,
        delivered_seq: outcome.marks.delivered_seq,
        read_seq: outcome.marks.read_seq.unwrap_or_default(),
        unread: outcome.unread,
    }))
}

/// Every member's marks as the caller may see them, and the caller's unread count.
#[utoipa::path(get, path = "/v1/conversations/{id}/receipts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ConversationView), (status = 400, body = super::ErrorBody),
        (status = 401), (status = 403, body = super::ErrorBody)))]
pub(crate) async fn receipts(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    Segments(conversation_id): Segments<String>,
) -> Result<Json<ConversationView>, RestError> {
    let (view, reads_shared) = state
        .engine
        .conversation_receipts(&user.user_id, &conversation_id)
        .await?;
    Ok(Json(ConversationView {
        conversation_id: view.conversation_id,
        members: view.members,
        unread: view.unread,
        reads_shared,
    }))
}

/// Who received and read message `seq`: the members other than the caller
/// and the message's sender who were members when it was sent. Members who
/// hide read receipts count as delivered only; a caller who hides theirs
/// gets `read` and `read_by` as `null`.
#[utoipa::path(get, path = "/v1/conversations/{id}/receipts/{seq}", security(("bearer" = [])),
    params(("id" = String, Path), ("seq" = u64, Path)),
    responses((status = 200, body = MessageReceipts), (status = 400, body = super::ErrorBody),
        (status = 401), (status = 403, body = super::ErrorBody)))]
pub(crate) async fn message(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    Segments((conversation_id, seq)): Segments<(String, u64)>,
) -> Result<Json<MessageReceipts>, RestError> {
    let receipts = state
        .engine
        .message_receipts(&user.user_id, &conversation_id, seq)
        .await?;
    Ok(Json(receipts))
}

/// The caller's receipt settings.
#[utoipa::path(get, path = "/v1/receipts/settings", security(("bearer" = [])),
    responses((status = 200, body = ReceiptSettings), (status = 401)))]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
) -> Result<Json<ReceiptSettings>, RestError> {
    Ok(Json(state.engine.settings(&user.user_id).await?))
}

/// Changes the caller's receipt settings; a change is published as
/// `chatflow.receipts.settings_changed`.
#[utoipa::path(put, path = "/v1/receipts/settings", security(("bearer" = [])),
    request_body = ReceiptSettings,
    responses((status = 200, body = ReceiptSettings), (status = 400, body = super::ErrorBody), (status = 401)))]
pub(crate) async fn put_settings(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    Body(wanted): Body<ReceiptSettings>,
) -> Result<Json<ReceiptSettings>, RestError> {
    Ok(Json(
        state.engine.set_settings(&user.user_id, wanted).await?,
    ))
}
