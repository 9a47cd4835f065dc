//! Request bodies of the REST API. Unknown fields are refused (400), like
//! everywhere in ChatFlow; the engine validates values before writing.

use chatflow_groups_client::Role;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::model::{Audience, Permissions};

/// Body of `POST /v1/groups`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// 1 to 128 characters, one line.
    pub name: String,
    /// Up to 1024 characters; line feeds allowed.
    #[serde(default)]
    pub description: String,
    /// File id of the avatar (from the files service).
    pub avatar_file_id: Option<String>,
    /// Users to add besides the creator, who becomes the owner.
    #[serde(default)]
    pub member_ids: Vec<String>,
    /// Permission settings; the defaults when absent.
    pub permissions: Option<Permissions>,
}

/// Body of `PATCH /v1/groups/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    /// The group's `version` this change is based on; another is a 409.
    pub version: u64,
    /// New name.
    pub name: Option<String>,
    /// New description; empty clears it.
    pub description: Option<String>,
    /// New avatar file id; empty clears it.
    pub avatar_file_id: Option<String>,
}

/// Body of `PUT /v1/groups/{id}/permissions`: the complete new settings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePermissions {
    /// The group's `version` this change is based on; another is a 409.
    pub version: u64,
    /// Who may post.
    pub post: Audience,
    /// Who may add members and create invite links.
    pub add_members: Audience,
    /// Who may change name, description and avatar.
    pub edit_info: Audience,
}

impl UpdatePermissions {
    /// The settings asked for.
    pub fn permissions(&self) -> Permissions {
        Permissions {
            post: self.post,
            add_members: self.add_members,
            edit_info: self.edit_info,
        }
    }
}

/// Body of `POST /v1/groups/{id}/members`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembers {
    /// Users to add; current members are skipped.
    pub user_ids: Vec<String>,
}

/// Body of `PUT /v1/groups/{id}/members/{user_id}/role`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// `admin` or `member` (ownership moves by transfer).
    #[schema(value_type = String, example = "admin")]
    pub role: Role,
}

/// Body of `POST /v1/groups/{id}/transfer`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOwnership {
    /// The member who becomes the owner; the caller becomes an admin.
    pub user_id: String,
}

/// Body of `POST /v1/groups/{id}/invites`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// Lifetime in seconds; the configured default when absent.
    pub expires_in_secs: Option<u64>,
    /// How many joins the link allows (at least 1); unlimited when absent.
    pub max_uses: Option<u32>,
}

/// Body of `POST /v1/groups/join`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinGroup {
    /// The invite token.
    pub token: String,
}

/// Body of `POST /v1/groups/direct`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDirect {
    /// The other user.
    pub user_id: String,
}
