//! `/v1/profile/me`, `/v1/profile/me/privacy` and `/v1/profiles/{user_id}`.

use axum::Json;
use axum::extract::State;
use chatflow_authn::Authenticated;
use chatflow_runtime::ApiJson;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::ErrorBody;
use super::extract::{RestError, UserPath};
use crate::engine::{Engine, ProfilePatch};
use crate::model::{Privacy, PrivacySettings, Profile, PublicProfile};

/// Body of `PATCH /v1/profile/me`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// 1 to 64 characters after NFC normalisation and trimming; no control
    /// or invisible formatting characters (bidi overrides, zero-width spaces).
    pub display_name: Option<String>,
    /// Up to 280 characters, same rules, line feeds allowed; `""` clears it.
    pub about: Option<String>,
    /// Avatar file id (1 to 64 of `A-Z a-z 0-9 - _`); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub avatar: Option<Option<String>>,
    /// BCP 47 tag such as `pt-BR` (returned in canonical case); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    /// IANA time zone such as `Europe/Paris`; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// The `version` last read: the update applies only if the profile is
    /// still at it (else 409). Absent: last writer wins.
    pub version: Option<i64>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The caller's own profile, every field included.
#[utoipa::path(get, path = "/v1/profile/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
) -> Result<Json<Profile>, RestError> {
    Ok(Json(engine.my_profile(&user.user_id).await?))
}

/// Updates the caller's profile. Every field is checked before anything is
/// written: one invalid field refuses the whole update (400 naming it). An
/// update that changes nothing keeps the version and publishes nothing;
/// otherwise `chatflow.profile.profile_updated` is published.
#[utoipa::path(patch, path = "/v1/profile/me", tag = "profile", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = Profile), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> Result<Json<Profile>, RestError> {
    let patch = ProfilePatch {
        display_name: body.display_name,
        about: body.about,
        avatar: body.avatar,
        locale: body.locale,
        time_zone: body.time_zone,
        expected_version: body.version,
    };
    Ok(Json(engine.update_profile(&user.user_id, patch).await?))
}

/// Another user's profile as the caller may see it: `about` and `avatar`
/// are `null` when the owner's privacy settings hide them from the caller.
/// 404 when there is no such profile or its owner blocked the caller.
#[utoipa::path(get, path = "/v1/profiles/{user_id}", tag = "profile", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the profile's owner")),
    responses((status = 200, body = PublicProfile), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn view(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    UserPath(owner): UserPath,
) -> Result<Json<PublicProfile>, RestError> {
    Ok(Json(engine.view_profile(&user.user_id, &owner).await?))
}

/// The caller's privacy settings (the defaults, version 0, until first set).
#[utoipa::path(get, path = "/v1/profile/me/privacy", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Privacy), (status = 401, body = ErrorBody)))]
pub async fn privacy(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
) -> Result<Json<Privacy>, RestError> {
    Ok(Json(engine.my_privacy(&user.user_id).await?))
}

/// Replaces the caller's privacy settings (all four fields). A change is
/// published as `chatflow.profile.privacy_changed` with the full settings,
/// for presence to honour; identical settings publish nothing.
#[utoipa::path(put, path = "/v1/profile/me/privacy", tag = "privacy", security(("bearer" = [])),
    request_body = PrivacySettings,
    responses((status = 200, body = Privacy), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn set_privacy(
    State(engine): State<Engine>,
    Authenticated(user): Authenticated,
    ApiJson(body): ApiJson<PrivacySettings>,
) -> Result<Json<Privacy>, RestError> {
    Ok(Json(engine.set_privacy(&user.user_id, body).await?))
}
