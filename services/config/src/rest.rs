//! The REST admin API (`/v1/flags`) and its OpenAPI document.

use axum::Json;
use axum::extract::{Path, Query, State, rejection::QueryRejection};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router, middleware};
use chatflow_flags::{Evaluation, EvaluationContext, FlagKey, FlagSpec, StoredFlag};
use chatflow_runtime::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Actor, AdminAuth, require_operator};
use crate::service::Engine;
use crate::store::AuditEntry;

/// Body of `POST /v1/flags`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFlag {
    /// The new flag's key.
    pub key: String,
    /// Its definition.
    pub spec: FlagSpec,
}

/// Body of `PUT /v1/flags/{key}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFlag {
    /// The version this change is based on; a different current version is a 409.
    pub version: u64,
    /// The new definition.
    pub spec: FlagSpec,
}

/// Query of `DELETE /v1/flags/{key}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// The version the deletion is based on.
    pub version: u64,
}

/// A list of flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagList {
    /// Live flags by key.
    pub flags: Vec<StoredFlag>,
}

/// A flag's audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditTrail {
    /// Oldest first.
    pub entries: Vec<AuditEntry>,
}

/// The result of evaluating a flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationResult {
    /// The served variant, its value and why.
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The flag version evaluated.
    pub version: u64,
}

/// The error body every failure carries (see `chatflow_runtime::ApiError`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code such as `invalid_argument`, `not_found`, `conflict`, `unauthenticated`.
    pub code: String,
    /// What is wrong, precisely enough to fix the request.
    pub message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChatFlow config service",
        description = "Feature flags: admin API. Every route but this document needs `Authorization: Bearer <operator token>`."
    ),
    paths(
        list_flags,
        create_flag,
        get_flag,
        update_flag,
        delete_flag,
        flag_audit,
        evaluate_flag
    ),
    components(schemas(
        CreateFlag,
        UpdateFlag,
        FlagList,
        AuditTrail,
        EvaluationResult,
        ErrorBody
    ))
)]
struct ApiDoc;

/// The OpenAPI document of this API, generated from the handlers below.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The admin API router; `admin` guards every route but the OpenAPI document.
pub fn router(engine: Engine, admin: AdminAuth, max_body_bytes: usize) -> Router {
    let admin = Router::new()
        .route("/v1/flags", get(list_flags).post(create_flag))
        .route(
            "/v1/flags/{key}",
            get(get_flag).put(update_flag).delete(delete_flag),
        )
        .route("/v1/flags/{key}/audit", get(flag_audit))
        .route("/v1/flags/{key}/evaluate", post(evaluate_flag))
        .layer(middleware::from_fn_with_state(admin, require_operator))
        .with_state(engine);
    Router::new()
        .route("/v1/openapi.json", get(|| async { Json(openapi()) }))
        .merge(admin)
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
}

fn parse_key(key: &str) -> Result<FlagKey, ApiError> {
    key.parse()
        .map_err(|e: chatflow_flags::FlagError| ApiError::from_error(&e))
}

/// Lists live flags.
#[utoipa::path(get, path = "/v1/flags", responses((status = 200, body = FlagList), (status = 401, body = ErrorBody)))]
async fn list_flags(State(engine): State<Engine>) -> Result<Json<FlagList>, ApiError> {
    Ok(Json(FlagList {
        flags: engine.store.list().await?,
    }))
}

/// Creates a flag at version 1 (or continues a deleted key's versions).
#[utoipa::path(post, path = "/v1/flags", request_body = CreateFlag,
    responses((status = 201, body = StoredFlag), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_flag(
    State(engine): State<Engine>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<CreateFlag>,
) -> Result<(StatusCode, Json<StoredFlag>), ApiError> {
    let key = parse_key(&body.key)?;
    let flag = engine.store.create(&key, &body.spec, &actor.0).await?;
    engine.feed.publish(flag.clone());
    Ok((StatusCode::CREATED, Json(flag)))
}

/// Reads one live flag.
#[utoipa::path(get, path = "/v1/flags/{key}", params(("key" = String, Path)),
    responses((status = 200, body = StoredFlag), (status = 404, body = ErrorBody)))]
async fn get_flag(
    State(engine): State<Engine>,
    Path(key): Path<String>,
) -> Result<Json<StoredFlag>, ApiError> {
    let key = parse_key(&key)?;
    Ok(Json(engine.store.get(key.as_str()).await?))
}

/// Replaces a flag's spec; `version` must be the current one.
#[utoipa::path(put, path = "/v1/flags/{key}", params(("key" = String, Path)), request_body = UpdateFlag,
    responses((status = 200, body = StoredFlag), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_flag(
    State(engine): State<Engine>,
    Extension(actor): Extension<Actor>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<UpdateFlag>,
) -> Result<Json<StoredFlag>, ApiError> {
    let key = parse_key(&key)?;
    let flag = engine
        .store
        .update(&key, &body.spec, body.version, &actor.0)
        .await?;
    engine.feed.publish(flag.clone());
    Ok(Json(flag))
}

/// Deletes a flag; `?version=` must be the current one. Returns the tombstone.
#[utoipa::path(delete, path = "/v1/flags/{key}", params(("key" = String, Path), ("version" = u64, Query)),
    responses((status = 200, body = StoredFlag), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_flag(
    State(engine): State<Engine>,
    Extension(actor): Extension<Actor>,
    Path(key): Path<String>,
    params: Result<Query<DeleteParams>, QueryRejection>,
) -> Result<Json<StoredFlag>, ApiError> {
    let key = parse_key(&key)?;
    let Query(params) =
        params.map_err(|e| ApiError::invalid_argument(format!("query: {}", e.body_text())))?;
    let flag = engine.store.delete(&key, params.version, &actor.0).await?;
    engine.feed.publish(flag.clone());
    Ok(Json(flag))
}

/// Who changed this flag, when, and to what.
#[utoipa::path(get, path = "/v1/flags/{key}/audit", params(("key" = String, Path)), responses((status = 200, body = AuditTrail)))]
async fn flag_audit(
    State(engine): State<Engine>,
    Path(key): Path<String>,
) -> Result<Json<AuditTrail>, ApiError> {
    let key = parse_key(&key)?;
    Ok(Json(AuditTrail {
        entries: engine.store.audit(key.as_str()).await?,
    }))
}

/// Evaluates a flag for a user and attributes, as a service would.
#[utoipa::path(post, path = "/v1/flags/{key}/evaluate", params(("key" = String, Path)), request_body = EvaluationContext,
    responses((status = 200, body = EvaluationResult), (status = 404, body = ErrorBody)))]
async fn evaluate_flag(
    State(engine): State<Engine>,
    Path(key): Path<String>,
    ApiJson(context): ApiJson<EvaluationContext>,
) -> Result<Json<EvaluationResult>, ApiError> {
    let key = parse_key(&key)?;
    let (evaluation, version) = engine.evaluate(key.as_str(), &context).await?;
    Ok(Json(EvaluationResult {
        evaluation,
        version,
    }))
}
