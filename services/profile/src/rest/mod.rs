//! The REST API under `/v1` and its OpenAPI document, generated from the
//! handlers (`/v1/profile/openapi.json`). Every endpoint but the document
//! itself needs an access token (`chatflow_authn::Authenticated`).

mod discovery;
mod extract;
mod profile;
mod relations;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use chatflow_authn::TokenVerifier;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::engine::Engine;
use crate::model;
use extract::AppState;

/// The error body every failure carries (see `chatflow_runtime::ApiError`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_argument`, `unauthenticated`, `not_found`, `conflict`,
    /// `resource_exhausted` (with `Retry-After`), `unavailable`...
    pub code: String,
    /// What is wrong; for a bad field it starts with the field's name.
    pub message: String,
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
        title = "ChatFlow profile service",
        description = include_str!("openapi.md")
    ),
    paths(
        profile::me, profile::update, profile::view, profile::privacy, profile::set_privacy,
        relations::list_contacts, relations::add_contact, relations::remove_contact,
        relations::list_blocks, relations::block, relations::unblock,
        discovery::key, discovery::discover
    ),
    components(schemas(ErrorBody, model::Visibility)),
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
        .route(
            "/v1/profile/openapi.json",
            get(|| async { Json(openapi()) }),
        )
        .route("/v1/profile/me", get(profile::me).patch(profile::update))
        .route(
            "/v1/profile/me/privacy",
            get(profile::privacy).put(profile::set_privacy),
        )
        .route("/v1/profiles/{user_id}", get(profile::view))
        .route("/v1/contacts", get(relations::list_contacts))
        .route("/v1/contacts/discovery/key", get(discovery::key))
        .route("/v1/contacts/discover", post(discovery::discover))
        .route(
            "/v1/contacts/{user_id}",
            put(relations::add_contact).delete(relations::remove_contact),
        )
        .route("/v1/blocks", get(relations::list_blocks))
        .route(
            "/v1/blocks/{user_id}",
            put(relations::block).delete(relations::unblock),
        )
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(AppState { engine, verifier })
}
