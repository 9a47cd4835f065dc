//! `/v1/groups/{id}/members...`, `/leave` and `/transfer`: membership and roles.

use axum::Json;
use axum::extract::State;
use chatflow_authn::Authenticated;

use super::ErrorBody;
use super::extract::{Body, Page, PageQuery, RestError, Segments};
use crate::engine::Engine;
use crate::model::{MemberPage, MembershipResult};
use crate::requests::{AddMembers, SetRole, TransferOwnership};

/// A page of the group's members, by user id, for its members.
#[utoipa::path(get, path = "/v1/groups/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id"), PageQuery),
    responses((status = 200, body = MemberPage), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
    Page(page): Page,
) -> Result<Json<MemberPage>, RestError> {
    Ok(Json(
        engine
            .member_page(&user.user_id, &id, page.cursor.as_deref(), page.limit)
            .await?,
    ))
}

/// Adds users (current members are skipped), all or nothing. Who may
/// follows the `add_members` permission (403 `admins_only`); past the
/// member limit nothing is added (409 `group_full`).
#[utoipa::path(post, path = "/v1/groups/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")), request_body = AddMembers,
    responses((status = 200, body = MembershipResult), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn add(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
    Body(body): Body<AddMembers>,
) -> Result<Json<MembershipResult>, RestError> {
    Ok(Json(
        engine
            .add_members(&user.user_id, &id, &body.user_ids)
            .await?,
    ))
}

/// Removes a member. Admins remove members, the owner removes admins too;
/// nobody removes the owner (403 `insufficient_role`).
#[utoipa::path(delete, path = "/v1/groups/{id}/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id"),
        ("user_id" = String, Path, description = "the member to remove")),
    responses((status = 200, body = MembershipResult), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments((id, subject)): Segments<(String, String)>,
) -> Result<Json<MembershipResult>, RestError> {
    Ok(Json(
        engine.remove_member(&user.user_id, &id, &subject).await?,
    ))
}

/// Makes a member an admin (admins and the owner) or an admin a member
/// (the owner). Ownership moves by transfer (400 `use_transfer`).
#[utoipa::path(put, path = "/v1/groups/{id}/members/{user_id}/role", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id"),
        ("user_id" = String, Path, description = "the member")), request_body = SetRole,
    responses((status = 200, body = MembershipResult), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_role(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments((id, subject)): Segments<(String, String)>,
    Body(body): Body<SetRole>,
) -> Result<Json<MembershipResult>, RestError> {
    Ok(Json(
        engine
            .set_role(&user.user_id, &id, &subject, body.role)
            .await?,
    ))
}

/// Leaves the group. An owner who leaves hands ownership to the
/// longest-standing admin, or failing one the longest-standing member.
#[utoipa::path(post, path = "/v1/groups/{id}/leave", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")),
    responses((status = 200, body = MembershipResult), (status = 404, body = ErrorBody)))]
pub async fn leave(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
) -> Result<Json<MembershipResult>, RestError> {
    Ok(Json(engine.leave(&user.user_id, &id).await?))
}

/// The owner makes another member the owner and becomes an admin.
#[utoipa::path(post, path = "/v1/groups/{id}/transfer", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "the group id")), request_body = TransferOwnership,
    responses((status = 200, body = MembershipResult), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn transfer(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    Segments(id): Segments<String>,
    Body(body): Body<TransferOwnership>,
) -> Result<Json<MembershipResult>, RestError> {
    Ok(Json(
        engine.transfer(&user.user_id, &id, &body.user_id).await?,
    ))
}
