//! The REST API under `/v1/auth`, the JWKS at `/.well-known/jwks.json`, and
//! the OpenAPI document generated from the handlers (`/v1/auth/openapi.json`).

mod account;
mod admin;
mod extract;
mod mfa;
mod session;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

pub use chatflow_authn::OperatorToken;

use crate::engine::Engine;
use crate::model;

/// The error body every failure carries (see `chatflow_runtime::ApiError`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_argument`, `unauthenticated`, `permission_denied`, `not_found`,
    /// `conflict`, `resource_exhausted` (with `Retry-After`), `unavailable`...
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// Answer of requests that trigger work the caller cannot observe (codes sent or not).
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    pub status: String,
}

impl Accepted {
    fn new() -> Json<Self> {
        Json(Self {
            status: "accepted".to_owned(),
        })
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChatFlow auth service",
        description = "Accounts, passwords, access and refresh tokens, TOTP MFA and sessions.\n\n\
            Access tokens are EdDSA (Ed25519) JWTs with `kid`, verifiable with the keys at \
            `/.well-known/jwks.json`. Refresh tokens are opaque and single use. Errors are \
            `{\"error\":{\"code\",\"message\"}}`; 429 answers carry `Retry-After`."
    ),
    paths(
        account::register, account::verify, account::resend, account::reset_request,
        account::reset, account::change_password, account::me,
        session::login, session::login_mfa, session::refresh, session::logout,
        session::list, session::rename, session::revoke, session::revoke_others,
        mfa::enrol, mfa::confirm, mfa::disable,
        admin::jwks, admin::rotate_keys, admin::set_roles
    ),
    components(schemas(ErrorBody, Accepted, model::TokenPair, model::MfaChallenge, model::LoginOutcome)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The OpenAPI document of this API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Every route; `admin` guards `/v1/auth/admin/*` besides operator-role tokens.
pub fn router(engine: Engine, admin: Option<OperatorToken>) -> Router {
    let max_body = engine.config.max_body_bytes;
    Router::new()
        .route("/v1/auth/openapi.json", get(|| async { Json(openapi()) }))
        .route("/.well-known/jwks.json", get(admin::jwks))
        .route("/v1/auth/register", post(account::register))
        .route("/v1/auth/verify", post(account::verify))
        .route("/v1/auth/verify/resend", post(account::resend))
        .route(
            "/v1/auth/password/reset/request",
            post(account::reset_request),
        )
        .route("/v1/auth/password/reset", post(account::reset))
        .route("/v1/auth/password/change", post(account::change_password))
        .route("/v1/auth/me", get(account::me))
        .route("/v1/auth/login", post(session::login))
        .route("/v1/auth/login/mfa", post(session::login_mfa))
        .route("/v1/auth/token/refresh", post(session::refresh))
        .route("/v1/auth/logout", post(session::logout))
        .route("/v1/auth/sessions", get(session::list))
        .route(
            "/v1/auth/sessions/revoke-others",
            post(session::revoke_others),
        )
        .route(
            "/v1/auth/sessions/{id}",
            patch(session::rename).delete(session::revoke),
        )
        .route("/v1/auth/mfa/totp/enroll", post(mfa::enrol))
        .route("/v1/auth/mfa/totp/confirm", post(mfa::confirm))
        .route("/v1/auth/mfa/totp/disable", post(mfa::disable))
        .route("/v1/auth/admin/rotate-keys", post(admin::rotate_keys))
        .route(
            "/v1/auth/admin/accounts/{account}/roles",
            axum::routing::put(admin::set_roles),
        )
        .layer(axum::Extension(admin))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(engine)
}
