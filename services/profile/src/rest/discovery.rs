//! `/v1/contacts/discovery/key` and `/v1/contacts/discover`.

use axum::Json;
use axum::extract::State;
use chatflow_authn::Authenticated;
use chatflow_runtime::ApiJson;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ErrorBody;
use super::extract::RestError;
use crate::engine::Engine;
use crate::model::{DiscoveryKeyInfo, DiscoveryResult};

/// Body of `POST /v1/contacts/discover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverRequest {
    /// The `key_id` of the key the hashes were made with (409 if it is no
    /// longer current: fetch the key again).
    pub key_id: String,
    /// 1 to `max_batch` hashes: lower- or upper-case hex of
    /// HMAC-SHA256(key, normalised identifier), 64 digits each.
    pub hashes: Vec<String>,
}

/// The discovery key: any signed-in client may fetch it to hash its
/// address book. Cache it, and fetch it again when a discovery request
/// answers 409.
#[utoipa::path(get, path = "/v1/contacts/discovery/key", tag = "discovery", security(("bearer" = [])),
    responses((status = 200, body = DiscoveryKeyInfo), (status = 401, body = ErrorBody)))]
pub async fn key(
    State(engine): State<Engine>,
    Authenticated(_user): Authenticated,
) -> Json<DiscoveryKeyInfo> {
    Json(engine.discovery_key())
}

/// Finds which address-book entries belong to users who let the caller
/// find them. Only users whose discovery setting admits the caller
/// (`everyone`, or `contacts` when they have the caller as a contact) and
/// who have not blocked the caller are returned; each one found becomes one
/// of the caller's contacts. See the API description for how to normalise
/// and hash identifiers and how batches and the daily budget work.
#[utoipa::path(post, path = "/v1/contacts/discover", tag = "discovery", security(("bearer" = [])),
    request_body = DiscoverRequest,
    responses((status = 200, body = DiscoveryResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, description = "daily budget spent; see `Retry-After`", body = ErrorBody)))]
pub async fn discover(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    ApiJson(body): ApiJson<DiscoverRequest>,
) -> Result<Json<DiscoveryResult>, RestError> {
    let result = engine
        .discover(&user.user_id, &body.key_id, &body.hashes)
        .await?;
    Ok(Json(result))
}
