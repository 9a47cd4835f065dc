//! The REST API for users (bearer access token, verified with the shared
//! `chatflow_authn` verifier): unread counts, read marks, a conversation's
//! receipts and one message's "read by", and the privacy setting. Bodies
//! are strict JSON (`ApiJson`: unknown fields, bad types and oversized
//! bodies are 400); every error is `{"error":{"code","message","reason"}}`
//! with a stable `reason` (see [`ErrorDetail`]). The document is served at
//! `/v1/receipts/openapi.json`.

mod extract;
mod handlers;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use chatflow_authn::TokenVerifier;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::engine::Engine;
use crate::{ConversationUnread, MemberMarks, MessageReceipts, ReceiptSettings, UnreadCounts};
use extract::AppState;
pub use handlers::{ConversationView, ReadBody, ReadView};

/// The error body every failure carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The shared kind: `invalid_argument`, `unauthenticated`,
    /// `permission_denied`, `conflict`, `unavailable`...
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// This service's finer cause, stable for clients to branch on:
    /// `invalid_argument`, `invalid_body`, `not_member`, `beyond_head`,
    /// `unavailable`, `internal`. Absent on authentication failures (401).
    pub reason: Option<String>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChatFlow receipts",
        description = "Delivery and read receipts. Read marks are high-water marks per member \
            (a lower or equal seq changes nothing); reading implies delivery; sending a message \
            marks it read for its sender. Unread counts cover text messages by others after the \
            read mark (deleted ones included: they show as tombstones). Users who turn \
            `reads_shared` off neither show their read marks to others nor see others'. \
            Non-members get 403 `not_member`."
    ),
    paths(handlers::unread, handlers::read, handlers::receipts, handlers::message,
        handlers::get_settings, handlers::put_settings),
    components(schemas(ErrorBody, ErrorDetail, UnreadCounts, ConversationUnread, ReadBody,
        ReadView, ConversationView, MemberMarks, MessageReceipts, ReceiptSettings)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The OpenAPI document of this API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Every route.
pub(crate) fn router(engine: Engine, verifier: TokenVerifier, max_body_bytes: usize) -> Router {
    Router::new()
        .route(
            "/v1/receipts/openapi.json",
            get(|| async { Json(openapi()) }),
        )
        .route("/v1/receipts/unread", get(handlers::unread))
        .route(
            "/v1/receipts/settings",
            get(handlers::get_settings).put(handlers::put_settings),
        )
        .route("/v1/conversations/{id}/read", post(handlers::read))
        .route("/v1/conversations/{id}/receipts", get(handlers::receipts))
        .route(
            "/v1/conversations/{id}/receipts/{seq}",
            get(handlers::message),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(AppState { engine, verifier })
}
