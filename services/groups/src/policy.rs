//! Who may do what: the rules, as pure functions over a conversation's facts.
//!
//! Groups: every member reads; posting, adding members (and creating invite
//! links) and editing info follow the group's [`Permissions`]; removing
//! members and managing roles and permissions need an admin. Nobody acts on
//! someone of equal or higher rank: an admin removes members but not other
//! admins, only the owner removes or demotes admins, and the owner can be
//! neither removed nor demoted (ownership moves only by transfer or when the
//! owner leaves). Direct conversations: both users post and read, nothing
//! else; posting is refused while either has blocked the other.

use chatflow_groups_client::{Action, ConversationKind, Decision, DenyReason, Role};

use crate::GroupsError;
use crate::model::Permissions;

/// What the rules need to know about a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Direct or group.
    pub kind: ConversationKind,
    /// The group's settings (defaults for direct conversations).
    pub permissions: Permissions,
    /// Its membership version.
    pub membership_version: u64,
}

/// Decides `action` for a user with `role` (`None`: not a member) in a
/// conversation described by `facts` (`None`: it does not exist). `blocked`
/// says whether the two users of a direct conversation have a block.
pub fn decide(
    facts: Option<&Facts>,
    role: Option<Role>,
    blocked: bool,
    action: Action,
) -> Decision {
    let Some(facts) = facts else {
        return Decision::deny(DenyReason::NotFound, None, 0);
    };
    let version = facts.membership_version;
    let Some(role) = role else {
        return Decision::deny(DenyReason::NotMember, None, version);
    };
    let allowed = |ok: bool| {
        if ok {
            Decision::allow(role, version)
        } else {
            Decision::deny(DenyReason::AdminsOnly, Some(role), version)
        }
    };
    match facts.kind {
        ConversationKind::Direct => match action {
            Action::Read => Decision::allow(role, version),
            Action::Post if blocked => Decision::deny(DenyReason::Blocked, Some(role), version),
            Action::Post => Decision::allow(role, version),
            _ => Decision::deny(DenyReason::DirectConversation, Some(role), version),
        },
        ConversationKind::Group => match action {
            Action::Read => Decision::allow(role, version),
            Action::Post => allowed(facts.permissions.post.admits(role)),
            Action::AddMembers | Action::CreateInvite => {
                allowed(facts.permissions.add_members.admits(role))
            }
            Action::EditInfo => allowed(facts.permissions.edit_info.admits(role)),
            Action::RemoveMembers | Action::ManageRoles => allowed(role >= Role::Admin),
        },
    }
}

/// `Ok` when `decision` allows, else the matching REST error.
pub fn require(decision: &Decision, what: &str) -> Result<Role, GroupsError> {
    match (decision.allowed, decision.role, decision.reason) {
        (true, Some(role), _) => Ok(role),
        (_, _, Some(DenyReason::NotFound | DenyReason::NotMember)) | (_, None, _) => {
            Err(GroupsError::no_conversation())
        }
        (_, _, reason) => Err(GroupsError::denied(
            reason.unwrap_or(DenyReason::AdminsOnly),
            format!("you may not {what} in this conversation"),
        )),
    }
}

/// Whether `actor` may remove a member of role `subject`.
pub fn may_remove(actor: Role, subject: Role) -> Result<(), GroupsError> {
    if actor >= Role::Admin && actor > subject {
        Ok(())
    } else {
        Err(GroupsError::forbidden(
            "insufficient_role",
            format!("{} cannot remove {}", named(actor), named(subject)),
        ))
    }
}

/// Whether `actor` may change a member from `current` to `new`: only the
/// owner changes admins, an admin may promote members, nobody sets `owner`
/// (that is a transfer).
pub fn may_set_role(actor: Role, current: Role, new: Role) -> Result<(), GroupsError> {
    if new == Role::Owner {
        return Err(GroupsError::invalid(
            "use_transfer",
            "ownership moves by transfer (POST /v1/groups/{id}/transfer)",
        ));
    }
    if actor >= Role::Admin && actor > current && new <= actor {
        Ok(())
    } else {
        Err(GroupsError::forbidden(
            "insufficient_role",
            format!("{} cannot make {} {new}", named(actor), named(current)),
        ))
    }
}

/// A role with its article, for messages.
fn named(role: Role) -> &'static str {
    match role {
        Role::Member => "a member",
        Role::Admin => "an admin",
        Role::Owner => "the owner",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Audience;

    fn group(post: Audience) -> Facts {
        Facts {
            kind: ConversationKind::Group,
            permissions: Permissions {
                post,
                ..Permissions::default()
            },
            membership_version: 4,
        }
    }

    #[test]
    fn group_matrix() {
        let open = group(Audience::Everyone);
        let member = |a| decide(Some(&open), Some(Role::Member), false, a).allowed;
        let admin = |a| decide(Some(&open), Some(Role::Admin), false, a).allowed;
        assert!(member(Action::Post) && member(Action::Read));
        for action in [
            Action::AddMembers,
            Action::RemoveMembers,
            Action::EditInfo,
            Action::ManageRoles,
            Action::CreateInvite,
        ] {
            assert!(!member(action), "{action}");
            assert!(admin(action), "{action}");
        }
        let announcements = group(Audience::Admins);
        let denied = decide(
            Some(&announcements),
            Some(Role::Member),
            false,
            Action::Post,
        );
        assert_eq!(denied.reason, Some(DenyReason::AdminsOnly));
        assert!(decide(Some(&announcements), Some(Role::Owner), false, Action::Post).allowed);
        let stranger = decide(Some(&open), None, false, Action::Read);
        assert_eq!(
            (stranger.reason, stranger.membership_version),
            (Some(DenyReason::NotMember), 4)
        );
        assert_eq!(
            decide(None, None, false, Action::Read).reason,
            Some(DenyReason::NotFound)
        );
    }

    #[test]
    fn direct_conversations_post_and_read_only_and_blocks_stop_posting() {
        let direct = Facts {
            kind: ConversationKind::Direct,
            ..group(Audience::Everyone)
        };
        assert!(decide(Some(&direct), Some(Role::Member), false, Action::Post).allowed);
        let blocked = decide(Some(&direct), Some(Role::Member), true, Action::Post);
        assert_eq!(blocked.reason, Some(DenyReason::Blocked));
        assert!(decide(Some(&direct), Some(Role::Member), true, Action::Read).allowed);
        let add = decide(Some(&direct), Some(Role::Member), false, Action::AddMembers);
        assert_eq!(add.reason, Some(DenyReason::DirectConversation));
    }

    #[test]
    fn ranks_bound_removal_and_role_changes() {
        assert!(may_remove(Role::Admin, Role::Member).is_ok());
        assert!(may_remove(Role::Admin, Role::Admin).is_err());
        assert!(may_remove(Role::Owner, Role::Admin).is_ok());
        assert!(may_remove(Role::Owner, Role::Owner).is_err());
        assert!(may_set_role(Role::Admin, Role::Member, Role::Admin).is_ok());
        assert!(may_set_role(Role::Admin, Role::Admin, Role::Member).is_err());
        assert!(may_set_role(Role::Owner, Role::Admin, Role::Member).is_ok());
        assert!(may_set_role(Role::Member, Role::Member, Role::Admin).is_err());
        assert_eq!(
            may_set_role(Role::Owner, Role::Admin, Role::Owner)
                .unwrap_err()
                .reason(),
            "use_transfer"
        );
    }
}
