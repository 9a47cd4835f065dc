//! What the REST API sends and receives, and the group settings model.

use chatflow_groups_client::{ConversationKind, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who a group permission is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every member.
    Everyone,
    /// Admins and the owner.
    Admins,
}

impl Audience {
    /// The form stored in SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Admins => "admins",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "everyone" => Some(Self::Everyone),
            "admins" => Some(Self::Admins),
            _ => None,
        }
    }

    /// Whether a member of `role` is in this audience.
    pub fn admits(self, role: Role) -> bool {
        self == Self::Everyone || role >= Role::Admin
    }
}

/// A group's permission settings. Defaults: everyone posts, admins add
/// members (and create invite links) and edit the group's info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Who may post.
    pub post: Audience,
    /// Who may add members and create invite links.
    pub add_members: Audience,
    /// Who may change name, description and avatar.
    pub edit_info: Audience,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            post: Audience::Everyone,
            add_members: Audience::Admins,
            edit_info: Audience::Admins,
        }
    }
}

/// A group as its members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Group {
    /// `g_` + 32 hex digits.
    pub id: String,
    /// NFC-normalised name.
    pub name: String,
    /// NFC-normalised description; empty when unset.
    pub description: String,
    /// File id of the avatar; absent when unset.
    pub avatar_file_id: Option<String>,
    /// Permission settings.
    pub permissions: Permissions,
    /// Version of name, description, avatar and permissions: send it back
    /// with `PATCH` or `PUT .../permissions`; another value is a 409.
    pub version: u64,
    /// Increases with every change of members, roles or permissions.
    pub membership_version: u64,
    /// Current number of members.
    pub member_count: u64,
    /// Most members this group may have.
    pub member_limit: u32,
    /// The caller's role.
    #[schema(value_type = String, example = "owner")]
    pub my_role: Role,
    /// Who created the group.
    pub created_by: String,
    /// When, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MemberView {
    /// The user.
    pub user_id: String,
    /// `owner`, `admin` or `member`.
    #[schema(value_type = String, example = "member")]
    pub role: Role,
    /// When they joined, in Unix milliseconds.
    pub joined_at_ms: i64,
    /// Who added them (themself for invite links and creators).
    pub added_by: String,
}

/// A page of members, by user id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberPage {
    /// The members.
    pub members: Vec<MemberView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
    /// The membership version the page was read at.
    pub membership_version: u64,
}

/// One of the caller's conversations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationSummary {
    /// `d_...` or `g_...`.
    pub id: String,
    /// `direct` or `group`.
    #[schema(value_type = String, example = "group")]
    pub kind: ConversationKind,
    /// The group's name; absent for direct conversations.
    pub name: Option<String>,
    /// The other user of a direct conversation.
    pub peer_id: Option<String>,
    /// The caller's role.
    #[schema(value_type = String, example = "member")]
    pub role: Role,
    /// Current number of members.
    pub member_count: u64,
    /// The membership version.
    pub membership_version: u64,
}

/// A page of the caller's conversations, by id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationPage {
    /// The conversations.
    pub conversations: Vec<ConversationSummary>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// What a membership change did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipResult {
    /// Users whose membership or role changed (already-members are not listed).
    pub changed: Vec<String>,
    /// The membership version after the change.
    pub membership_version: u64,
    /// Current number of members.
    pub member_count: u64,
}

/// An invite link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invite {
    /// The link's id (for revoking it).
    pub id: String,
    /// The group it joins.
    pub group_id: String,
    /// The signed token to share; `POST /v1/groups/join` with it joins.
    /// Present only in the answer that created the link.
    pub token: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// When it stops working, in Unix milliseconds.
    pub expires_at_ms: i64,
    /// How many joins it allows; absent for unlimited.
    pub max_uses: Option<u32>,
    /// How many joins it has admitted.
    pub uses: u32,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

/// The active invite links of a group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InviteList {
    /// Newest first.
    pub invites: Vec<Invite>,
}
