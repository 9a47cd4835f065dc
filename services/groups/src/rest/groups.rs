//! `/v1/groups`, `/v1/groups/{id}`, `/v1/groups/{id}/permissions` and
//! `/v1/groups/direct`: conversations and group settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chatflow_authn::Authenticated;
use chatflow_groups_client::{ConversationKind, Role};

use super::ErrorBody;
use super::extract::{Body, Page, PageQuery, RestError, Segments};
use crate::GroupsError;
use crate::engine::Engine;
use crate::model::{ConversationPage, ConversationSummary, Group};
use crate::requests::{CreateGroup, OpenDirect, UpdateGroup, UpdatePermissions};

/// The caller's conversations (groups and direct), by id.
#[utoipa::path(get, path = "/v1/groups", tag = "conversations", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ConversationPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Page(page): Page,
) -> Result<Json<ConversationPage>, RestError> {
    Ok(Json(
        engine
            .conversations(&user.user_id, page.cursor.as_deref(), page.limit)
            .await?,
    ))
}

/// Creates a group; the caller becomes its owner. More initial members than
/// the member limit is a 400 with reason `group_full`.
#[utoipa::path(post, path = "/v1/groups", tag = "groups", security(("bearer" = [])),
    request_body = CreateGroup,
    responses((status = 201, body = Group), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn create(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Body(body): Body<CreateGroup>,
) -> Result<(StatusCode, Json<Group>), RestError> {
    let group = engine.create_group(&user.user_id, body).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// A group, for its members (404 for everyone else).
#[utoipa::path(get, path = "/v1/groups/{id}", tag = "groups", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")),
    responses((status = 200, body = Group), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
) -> Result<Json<Group>, RestError> {
    Ok(Json(engine.group(&user.user_id, &id).await?))
}

/// Renames the group or changes its description or avatar. `version` must
/// be the group's current one (409 `version_conflict` otherwise); who may
/// follows the `edit_info` permission (403 `admins_only`).
#[utoipa::path(patch, path = "/v1/groups/{id}", tag = "groups", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")), request_body = UpdateGroup,
    responses((status = 200, body = Group), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn update(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
    Body(body): Body<UpdateGroup>,
) -> Result<Json<Group>, RestError> {
    Ok(Json(engine.update_info(&user.user_id, &id, body).await?))
}

/// Replaces the permission settings (admins and the owner); `version` as for PATCH.
#[utoipa::path(put, path = "/v1/groups/{id}/permissions", tag = "groups", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")), request_body = UpdatePermissions,
    responses((status = 200, body = Group), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn permissions(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
    Body(body): Body<UpdatePermissions>,
) -> Result<Json<Group>, RestError> {
    Ok(Json(
        engine.set_permissions(&user.user_id, &id, body).await?,
    ))
}

/// Opens (or finds) the caller's direct conversation with another user:
/// 201 when created now, 200 when it existed.
#[utoipa::path(post, path = "/v1/groups/direct", tag = "conversations", security(("bearer" = [])),
    request_body = OpenDirect,
    responses((status = 200, body = ConversationSummary), (status = 201, body = ConversationSummary),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn direct(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Body(body): Body<OpenDirect>,
) -> Result<(StatusCode, Json<ConversationSummary>), RestError> {
    let peer = crate::validate::user_id("user_id", &body.user_id)?;
    if peer == user.user_id {
        return Err(GroupsError::field("user_id", "is yourself").into());
    }
    let conversation = engine.ensure_direct(&user.user_id, &peer).await?;
    let status = if conversation.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ConversationSummary {
            id: conversation.conversation_id,
            kind: ConversationKind::Direct,
            name: None,
            peer_id: Some(peer),
            role: Role::Member,
            member_count: conversation.member_ids.len() as u64,
            membership_version: conversation.membership_version,
        }),
    ))
}
