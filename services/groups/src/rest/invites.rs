//! `/v1/groups/{id}/invites...` and `/v1/groups/join`: invite links.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chatflow_authn::Authenticated;

use super::ErrorBody;
use super::extract::{Body, RestError, Segments};
use crate::engine::Engine;
use crate::model::{Group, Invite, InviteList};
use crate::requests::{CreateInvite, JoinGroup};

/// Creates an invite link (who may follows the `add_members` permission).
/// The answer carries the signed `token`; it is shown only this once.
#[utoipa::path(post, path = "/v1/groups/{id}/invites", tag = "invites", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")), request_body = CreateInvite,
    responses((status = 201, body = Invite), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
    Body(body): Body<CreateInvite>,
) -> Result<(StatusCode, Json<Invite>), RestError> {
    let invite = engine.create_invite(&user.user_id, &id, body).await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

/// The group's working invite links (without tokens).
#[utoipa::path(get, path = "/v1/groups/{id}/invites", tag = "invites", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")),
    responses((status = 200, body = InviteList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
) -> Result<Json<InviteList>, RestError> {
    Ok(Json(engine.list_invites(&user.user_id, &id).await?))
}

/// Revokes an invite link (its creator or an admin); revoking twice is fine.
#[utoipa::path(delete, path = "/v1/groups/{id}/invites/{invite_id}", tag = "invites", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id"),
        ("invite_id" = String, Path, description = "the link's id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments((id, invite)): Segments<(String, String)>,
) -> Result<StatusCode, RestError> {
    engine.revoke_invite(&user.user_id, &id, &invite).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Joins a group with an invite token. A malformed, forged or tampered
/// token is 400 `invite_invalid`; an expired, revoked or used-up link is
/// 403 `invite_expired`, `invite_revoked` or `invite_exhausted`; a full
/// group 409 `group_full`. Members joining again get the group, unchanged.
#[utoipa::path(post, path = "/v1/groups/join", tag = "invites", security(("bearer" = [])),
    request_body = JoinGroup,
    responses((status = 200, body = Group), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn join(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Body(body): Body<JoinGroup>,
) -> Result<Json<Group>, RestError> {
    Ok(Json(engine.join(&user.user_id, &body.token).await?))
}
