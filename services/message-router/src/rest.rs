//! The REST API for bots and tests (clients use the gateway's WebSocket):
//! history pages, sends, edits, deletes, reactions and versions, for the
//! user of the bearer token. Bodies are strict JSON (`ApiJson`: unknown
//! fields, bad types and oversized bodies are 400); errors use the shared
//! `{"error":{"code","message"}}` body.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chatflow_authn::{Authenticated, AuthenticatedUser, TokenVerifier};
use chatflow_runtime::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::engine::Engine;
use crate::{
    Caller, DeleteRequest, EditRequest, HistoryPage, HistoryRequest, Message, MessageKind,
    ReactRequest, Reaction, RouterClient, SendAck, SendRequest, VersionsRequest,
};

/// What the handlers share.
#[derive(Clone)]
pub struct RestState {
    engine: Engine,
    verifier: TokenVerifier,
}

impl FromRef<RestState> for TokenVerifier {
    fn from_ref(state: &RestState) -> Self {
        state.verifier.clone()
    }
}

/// Body of `POST /v1/conversations/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// 1 to 64 of `[A-Za-z0-9_-]`; reuse it to retry.
    pub client_msg_id: String,
    /// The text; may be empty when there are attachments.
    #[serde(default)]
    pub text: String,
    /// The message replied to.
    pub reply_to_seq: Option<u64>,
    /// Mentioned user ids.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Attached file ids.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// Body of `POST /v1/conversations/{id}/messages/{seq}/edits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// The idempotency key of this edit.
    pub client_msg_id: String,
    /// The new text.
    pub text: String,
}

/// Body of `POST /v1/conversations/{id}/messages/{seq}/reactions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactBody {
    /// The idempotency key of this reaction.
    pub client_msg_id: String,
    /// The emoji.
    pub emoji: String,
    /// True to take the reaction back.
    #[serde(default)]
    pub removed: bool,
}

/// Query of `GET /v1/conversations/{id}/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// Only seqs greater than this (page forward).
    pub after: Option<u64>,
    /// Only seqs smaller than this (page backward).
    pub before: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// Query of `DELETE /v1/conversations/{id}/messages/{seq}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// The idempotency key of this delete.
    pub client_msg_id: String,
}

/// The versions of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Versions {
    /// The original, then each edit.
    pub versions: Vec<Message>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChatFlow message router",
        description = "Conversation history and sends for bots and tests. Every route but this document needs `Authorization: Bearer <access token>`."
    ),
    paths(history, send, edit, delete, react, versions),
    components(schemas(
        SendBody,
        EditBody,
        ReactBody,
        SendAck,
        HistoryPage,
        Message,
        MessageKind,
        Reaction,
        Versions
    ))
)]
struct ApiDoc;

/// The OpenAPI document of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The REST router.
pub(crate) fn router(engine: Engine, verifier: TokenVerifier, max_body_bytes: usize) -> Router {
    let state = RestState { engine, verifier };
    Router::new()
        .route("/v1/openapi.json", get(|| async { Json(openapi()) }))
        .route("/v1/conversations/{id}/messages", get(history).post(send))
        .route(
            "/v1/conversations/{id}/messages/{seq}",
            axum::routing::delete(delete),
        )
        .route("/v1/conversations/{id}/messages/{seq}/edits", post(edit))
        .route(
            "/v1/conversations/{id}/messages/{seq}/reactions",
            post(react),
        )
        .route(
            "/v1/conversations/{id}/messages/{seq}/versions",
            get(versions),
        )
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

fn caller(user: &AuthenticatedUser) -> Caller {
    Caller::new(user.user_id.clone(), user.device_id.clone())
}

fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(value)| value)
        .map_err(|e| ApiError::invalid_argument(format!("path: {}", e.body_text())))
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(value)| value)
        .map_err(|e| ApiError::invalid_argument(format!("query: {}", e.body_text())))
}

/// 201 for a new write, 200 for a retry answered from the idempotency record.
fn written(ack: SendAck) -> (StatusCode, Json<SendAck>) {
    let status = if ack.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(ack))
}

/// A page of history in ascending seq order; members only.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages",
    params(("id" = String, Path), ("after" = Option<u64>, Query), ("before" = Option<u64>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = HistoryPage), (status = 400), (status = 401), (status = 403)))]
async fn history(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Json<HistoryPage>, ApiError> {
    let conversation_id = path(id)?;
    let params = query(params)?;
    let page = state
        .engine
        .history(HistoryRequest {
            caller: caller(&user),
            conversation_id,
            after_seq: params.after,
            before_seq: params.before,
            limit: params.limit,
        })
        .await?;
    Ok(Json(page))
}

/// Sends a message; the ack means it is stored.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", params(("id" = String, Path)),
    request_body = SendBody,
    responses((status = 201, body = SendAck), (status = 200, body = SendAck, description = "a retry of a stored send"),
        (status = 400), (status = 403), (status = 409), (status = 429), (status = 503)))]
async fn send(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<SendBody>,
) -> Result<(StatusCode, Json<SendAck>), ApiError> {
    let ack = state
        .engine
        .send(SendRequest {
            caller: caller(&user),
            conversation_id: path(id)?,
            client_msg_id: body.client_msg_id,
            text: body.text,
            reply_to_seq: body.reply_to_seq,
            mentions: body.mentions,
            attachments: body.attachments,
        })
        .await?;
    Ok(written(ack))
}

/// Edits one of the caller's messages.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages/{seq}/edits",
    params(("id" = String, Path), ("seq" = u64, Path)), request_body = EditBody,
    responses((status = 201, body = SendAck), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn edit(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    target: Result<Path<(String, u64)>, PathRejection>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<(StatusCode, Json<SendAck>), ApiError> {
    let (conversation_id, target_seq) = path(target)?;
    let ack = state
        .engine
        .edit(EditRequest {
            caller: caller(&user),
            conversation_id,
            client_msg_id: body.client_msg_id,
            target_seq,
            text: body.text,
        })
        .await?;
    Ok(written(ack))
}

/// Deletes one of the caller's messages for everyone.
#[utoipa::path(delete, path = "/v1/conversations/{id}/messages/{seq}",
    params(("id" = String, Path), ("seq" = u64, Path), ("client_msg_id" = String, Query)),
    responses((status = 201, body = SendAck), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn delete(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    target: Result<Path<(String, u64)>, PathRejection>,
    params: Result<Query<DeleteParams>, QueryRejection>,
) -> Result<(StatusCode, Json<SendAck>), ApiError> {
    let (conversation_id, target_seq) = path(target)?;
    let params = query(params)?;
    let ack = state
        .engine
        .delete(DeleteRequest {
            caller: caller(&user),
            conversation_id,
            client_msg_id: params.client_msg_id,
            target_seq,
        })
        .await?;
    Ok(written(ack))
}

/// Adds or removes a reaction.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages/{seq}/reactions",
    params(("id" = String, Path), ("seq" = u64, Path)), request_body = ReactBody,
    responses((status = 201, body = SendAck), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn react(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    target: Result<Path<(String, u64)>, PathRejection>,
    ApiJson(body): ApiJson<ReactBody>,
) -> Result<(StatusCode, Json<SendAck>), ApiError> {
    let (conversation_id, target_seq) = path(target)?;
    let ack = state
        .engine
        .react(ReactRequest {
            caller: caller(&user),
            conversation_id,
            client_msg_id: body.client_msg_id,
            target_seq,
            reaction: Reaction {
                emoji: body.emoji,
                removed: body.removed,
            },
        })
        .await?;
    Ok(written(ack))
}

/// The original of a message, then each edit.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages/{seq}/versions",
    params(("id" = String, Path), ("seq" = u64, Path)),
    responses((status = 200, body = Versions), (status = 403), (status = 404)))]
async fn versions(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    target: Result<Path<(String, u64)>, PathRejection>,
) -> Result<Json<Versions>, ApiError> {
    let (conversation_id, seq) = path(target)?;
    let versions = state
        .engine
        .versions(VersionsRequest {
            caller: caller(&user),
            conversation_id,
            seq,
        })
        .await?;
    Ok(Json(Versions { versions }))
}
