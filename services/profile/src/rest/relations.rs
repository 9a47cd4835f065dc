//! `/v1/contacts` and `/v1/blocks`: the caller's lists.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chatflow_authn::Authenticated;

use super::ErrorBody;
use super::extract::{Page, PageQuery, RestError, UserPath};
use crate::engine::Engine;
use crate::model::RelationPage;
use crate::store::Relations;

/// The caller's contacts, by user id. Contacts are the caller's own list:
/// they decide who sees fields set to `contacts`.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = RelationPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_contacts(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Page(page): Page,
) -> Result<Json<RelationPage>, RestError> {
    let list = engine
        .list(
            Relations::Contacts,
            &user.user_id,
            page.cursor.as_deref(),
            page.limit,
        )
        .await?;
    Ok(Json(list))
}

/// Adds a user to the caller's contacts (idempotent). 404 if the user has
/// no profile or blocked the caller.
#[utoipa::path(put, path = "/v1/contacts/{user_id}", tag = "contacts", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the user to add")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn add_contact(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    UserPath(other): UserPath,
) -> Result<StatusCode, RestError> {
    engine.add_contact(&user.user_id, &other).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a user from the caller's contacts (idempotent).
#[utoipa::path(delete, path = "/v1/contacts/{user_id}", tag = "contacts", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the user to remove")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn remove_contact(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    UserPath(other): UserPath,
) -> Result<StatusCode, RestError> {
    engine.remove_contact(&user.user_id, &other).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users the caller blocked, by user id.
#[utoipa::path(get, path = "/v1/blocks", tag = "blocks", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = RelationPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_blocks(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Page(page): Page,
) -> Result<Json<RelationPage>, RestError> {
    let list = engine
        .list(
            Relations::Blocks,
            &user.user_id,
            page.cursor.as_deref(),
            page.limit,
        )
        .await?;
    Ok(Json(list))
}

/// Blocks a user (idempotent): they see the caller's profile as 404, never
/// find the caller by discovery, and the router refuses delivery between the
/// two (`chatflow.profile.user_blocked`, published only when the block is new).
/// Blocking yourself is a 400.
#[utoipa::path(put, path = "/v1/blocks/{user_id}", tag = "blocks", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the user to block")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn block(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    UserPath(other): UserPath,
) -> Result<StatusCode, RestError> {
    engine.block(&user.user_id, &other).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a block (idempotent; `chatflow.profile.user_unblocked` is published
/// only when there was one).
#[utoipa::path(delete, path = "/v1/blocks/{user_id}", tag = "blocks", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the user to unblock")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn unblock(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    UserPath(other): UserPath,
) -> Result<StatusCode, RestError> {
    engine.unblock(&user.user_id, &other).await?;
    Ok(StatusCode::NO_CONTENT)
}
