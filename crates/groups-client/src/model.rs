//! The vocabulary shared by the groups service and its callers: actions,
//! roles, the answer to "may U do X in C", and member lists.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Something a user may or may not do in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send a message (edits, deletes and reactions included).
    Post,
    /// Read history and receive live delivery.
    Read,
    /// Add members.
    AddMembers,
    /// Remove other members.
    RemoveMembers,
    /// Change name, description or avatar.
    EditInfo,
    /// Change roles and group permissions.
    ManageRoles,
    /// Create invite links.
    CreateInvite,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 7] = [
        Action::Post,
        Action::Read,
        Action::AddMembers,
        Action::RemoveMembers,
        Action::EditInfo,
        Action::ManageRoles,
        Action::CreateInvite,
    ];

    /// The snake_case name used in JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Read => "read",
            Self::AddMembers => "add_members",
            Self::RemoveMembers => "remove_members",
            Self::EditInfo => "edit_info",
            Self::ManageRoles => "manage_roles",
            Self::CreateInvite => "create_invite",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown action {s:?}"))
    }
}

/// A member's rank. Ordered: `Member < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everyone else (both users of a direct conversation).
    Member,
    /// Manages members and settings.
    Admin,
    /// Created the group or received ownership; exactly one per group.
    Owner,
}

impl Role {
    /// The snake_case name used in JSON, SQL and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "member" => Ok(Self::Member),
            "admin" => Ok(Self::Admin),
            "owner" => Ok(Self::Owner),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// Whether a conversation is between two users or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Exactly two users, id `d_...` derived from the pair.
    Direct,
    /// A group, id `g_...`.
    Group,
}

impl ConversationKind {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// No such conversation.
    NotFound,
    /// The user is not a member.
    NotMember,
    /// One user of a direct conversation blocked the other.
    Blocked,
    /// The group restricts this action to admins.
    AdminsOnly,
    /// Direct conversations only allow posting and reading.
    DirectConversation,
}

impl DenyReason {
    /// The wire form, as in `AuthorizeResponse.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::NotMember => "not_member",
            Self::Blocked => "blocked",
            Self::AdminsOnly => "admins_only",
            Self::DirectConversation => "direct_conversation",
        }
    }

    /// Parses the wire form; unknown reasons (from a newer server) are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::NotFound,
            Self::NotMember,
            Self::Blocked,
            Self::AdminsOnly,
            Self::DirectConversation,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to "may this user do this action in this conversation".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The user's role; `None` when not a member.
    pub role: Option<Role>,
    /// Why not, when refused. A refusal from a newer server with a reason
    /// this client does not know is `allowed = false, reason = None`.
    pub reason: Option<DenyReason>,
    /// The conversation's membership version the answer was computed at
    /// (0 for an unknown conversation).
    pub membership_version: u64,
}

impl Decision {
    /// An allowed answer.
    pub fn allow(role: Role, membership_version: u64) -> Self {
        Self {
            allowed: true,
            role: Some(role),
            reason: None,
            membership_version,
        }
    }

    /// A refusal.
    pub fn deny(reason: DenyReason, role: Option<Role>, membership_version: u64) -> Self {
        Self {
            allowed: false,
            role,
            reason: Some(reason),
            membership_version,
        }
    }
}

/// One member of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The user.
    pub user_id: String,
    /// Their role.
    pub role: Role,
}

/// Every member of a conversation at one membership version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// By user id.
    pub members: Vec<Member>,
    /// The version the list was read at.
    pub membership_version: u64,
}

impl Members {
    /// Whether `user_id` is among the members.
    pub fn contains(&self, user_id: &str) -> bool {
        self.members.iter().any(|m| m.user_id == user_id)
    }
}

/// A conversation as other services need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// `d_...` or `g_...`.
    pub conversation_id: String,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Its membership version.
    pub membership_version: u64,
    /// Member user ids, sorted.
    pub member_ids: Vec<String>,
    /// Whether the call that returned it created it.
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ranked_and_names_round_trip() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        for role in [Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
        }
        assert!("fly".parse::<Action>().is_err());
        assert_eq!(DenyReason::parse("blocked"), Some(DenyReason::Blocked));
        assert_eq!(DenyReason::parse("from_the_future"), None);
    }
}
