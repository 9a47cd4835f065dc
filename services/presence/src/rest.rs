//! The REST API: `GET /v1/presence?user_ids=a,b` for the user of the bearer
//! token, documented at `/v1/presence/openapi.json`. Errors use the shared
//! `{"error":{"code","message"}}` body.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chatflow_authn::{Authenticated, TokenVerifier};
use chatflow_runtime::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{MAX_USERS_PER_GET, PresenceNode, PresenceView};

/// What the handlers share.
#[derive(Clone)]
struct RestState {
    node: PresenceNode,
    verifier: TokenVerifier,
}

impl FromRef<RestState> for TokenVerifier {
    fn from_ref(state: &RestState) -> Self {
        state.verifier.clone()
    }
}

/// Query of `GET /v1/presence`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceQuery {
    /// Comma-separated user ids, 1 to 1000.
    user_ids: String,
}

/// Body of `GET /v1/presence`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceList {
    /// One entry per requested id, in request order.
    pub users: Vec<PresenceView>,
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
        title = "ChatFlow presence service",
        description = "Online status and last-seen of users, as the caller may see them. \
            A user whose privacy settings hide them from the caller, or who blocked the \
            caller or was blocked by them, reads `offline` with `last_seen_ms: null`, \
            exactly like a user who never connected. Clients get live updates over the \
            gateway's WebSocket."
    ),
    paths(list),
    components(schemas(PresenceList, PresenceView)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The OpenAPI document of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Every route.
pub(crate) fn router(node: PresenceNode, verifier: TokenVerifier) -> Router {
    Router::new()
        .route(
            "/v1/presence/openapi.json",
            get(|| async { Json(openapi()) }),
        )
        .route("/v1/presence", get(list))
        .with_state(RestState { node, verifier })
}

/// The presence of the given users as the caller may see it.
#[utoipa::path(get, path = "/v1/presence",
    params(("user_ids" = String, Query, description = "comma-separated user ids, 1 to 1000")),
    responses((status = 200, body = PresenceList), (status = 400), (status = 401), (status = 503)),
    security(("bearer" = [])))]
async fn list(
    State(state): State<RestState>,
    Authenticated(user): Authenticated,
    query: Result<Query<PresenceQuery>, QueryRejection>,
) -> Result<Json<PresenceList>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::invalid_argument(format!("query: {}", e.body_text())))?;
    let ids = split_ids(&query.user_ids)?;
    let users = state.node.get(Some(&user.user_id), &ids).await?;
    Ok(Json(PresenceList { users }))
}

/// `a,b,c` → ids; empty parts and more than the limit are refused (the ids
/// themselves are checked by the node).
fn split_ids(raw: &str) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = raw.split(',').map(str::to_owned).collect();
    if raw.is_empty() || ids.iter().any(String::is_empty) {
        return Err(ApiError::invalid_argument(
            "user_ids: give 1 to 1000 comma-separated user ids",
        ));
    }
    if ids.len() > MAX_USERS_PER_GET {
        return Err(ApiError::invalid_argument(format!(
            "user_ids: at most {MAX_USERS_PER_GET} users, got {}",
            ids.len()
        )));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_split_and_bounded() {
        assert_eq!(split_ids("a,b").unwrap(), vec!["a", "b"]);
        for bad in ["", "a,,b", ",", "a,"] {
            assert!(split_ids(bad).is_err(), "{bad:?}");
        }
        let many = vec!["u"; MAX_USERS_PER_GET + 1].join(",");
        assert!(split_ids(&many).is_err());
    }

    #[test]
    fn the_document_describes_the_endpoint() {
        let doc = serde_json::to_value(openapi()).unwrap();
        assert!(doc["paths"]["/v1/presence"]["get"].is_object(), "{doc}");
    }
}
