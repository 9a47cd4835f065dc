//! The REST API under `/v1/groups` and its OpenAPI document, generated from
//! the handlers (`/v1/groups/openapi.json`). Every endpoint but the document
//! needs an access token (`chatflow_authn::Authenticated`).

mod extract;
mod groups;
mod invites;
mod members;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use chatflow_authn::TokenVerifier;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::engine::Engine;
use crate::{model, requests};
use extract::AppState;

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
    /// `permission_denied`, `not_found`, `conflict`, `unavailable`...
    pub code: String,
    /// What is wrong; for a bad field it starts with the field's name.
    pub message: String,
    /// This service's finer cause, stable for clients to branch on:
    /// `invalid_field`, `invalid_body`, `not_found`, `admins_only`,
    /// `insufficient_role`, `owner_only`, `use_transfer`, `use_leave`,
    /// `version_conflict`, `group_full`, `invite_invalid`, `invite_expired`,
    /// `invite_revoked`, `invite_exhausted`, `internal`, `unavailable`.
    /// Absent on authentication failures (401).
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
        title = "ChatFlow groups service",
        description = "Direct conversations and groups: membership, roles (owner > admin > member), \
            permissions, member limits, ownership transfer and signed invite links.\n\n\
            Non-members get 404 for a group, as if it did not exist. Changes that take a \
            `version` fail with 409 `version_conflict` when it is stale. Every change of \
            members, roles or permissions increases `membership_version` and is published \
            as `chatflow.groups.membership_changed`."
    ),
    paths(
        groups::list, groups::create, groups::get, groups::update, groups::permissions,
        groups::direct,
        members::list, members::add, members::remove, members::set_role, members::leave,
        members::transfer,
        invites::create, invites::list, invites::revoke, invites::join
    ),
    components(schemas(ErrorBody, ErrorDetail, model::Audience, model::Permissions,
        requests::CreateGroup, requests::UpdateGroup, requests::UpdatePermissions,
        requests::AddMembers, requests::SetRole, requests::TransferOwnership,
        requests::CreateInvite, requests::JoinGroup, requests::OpenDirect)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The OpenAPI document of this API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Every route.
pub fn router(engine: Engine, verifier: TokenVerifier) -> Router {
    let max_body = engine.config.max_body_bytes;
    Router::new()
        .route("/v1/groups/openapi.json", get(|| async { Json(openapi()) }))
        .route("/v1/groups", get(groups::list).post(groups::create))
        .route("/v1/groups/direct", post(groups::direct))
        .route("/v1/groups/join", post(invites::join))
        .route("/v1/groups/{id}", get(groups::get).patch(groups::update))
        .route("/v1/groups/{id}/permissions", put(groups::permissions))
        .route(
            "/v1/groups/{id}/members",
            get(members::list).post(members::add),
        )
        .route("/v1/groups/{id}/members/{user_id}", delete(members::remove))
        .route(
            "/v1/groups/{id}/members/{user_id}/role",
            put(members::set_role),
        )
        .route("/v1/groups/{id}/leave", post(members::leave))
        .route("/v1/groups/{id}/transfer", post(members::transfer))
        .route(
            "/v1/groups/{id}/invites",
            get(invites::list).post(invites::create),
        )
        .route(
            "/v1/groups/{id}/invites/{invite_id}",
            delete(invites::revoke),
        )
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(AppState { engine, verifier })
}
