//! Conversions between the client model and `chatflow.groups.v1`.

use chatflow_errors::ErrorKind;
use chatflow_proto::groups::v1 as pb;

use crate::{
    Action, ClientError, Conversation, ConversationKind, Decision, DenyReason, Member, Members,
    Role,
};

/// The protobuf form of an action.
pub fn action_to_proto(action: Action) -> pb::Action {
    match action {
        Action::Post => pb::Action::Post,
        Action::Read => pb::Action::Read,
        Action::AddMembers => pb::Action::AddMembers,
        Action::RemoveMembers => pb::Action::RemoveMembers,
        Action::EditInfo => pb::Action::EditInfo,
        Action::ManageRoles => pb::Action::ManageRoles,
        Action::CreateInvite => pb::Action::CreateInvite,
    }
}

/// An action from its wire value; unspecified or unknown is `InvalidArgument`.
pub fn action_from_proto(value: i32) -> Result<Action, ClientError> {
    match pb::Action::try_from(value) {
        Ok(pb::Action::Post) => Ok(Action::Post),
        Ok(pb::Action::Read) => Ok(Action::Read),
        Ok(pb::Action::AddMembers) => Ok(Action::AddMembers),
        Ok(pb::Action::RemoveMembers) => Ok(Action::RemoveMembers),
        Ok(pb::Action::EditInfo) => Ok(Action::EditInfo),
        Ok(pb::Action::ManageRoles) => Ok(Action::ManageRoles),
        Ok(pb::Action::CreateInvite) => Ok(Action::CreateInvite),
        Ok(pb::Action::Unspecified) | Err(_) => Err(ClientError::new(
            ErrorKind::InvalidArgument,
            format!("action: {value} is not a known action"),
        )),
    }
}

/// The protobuf form of an optional role (`None` is unspecified).
pub fn role_to_proto(role: Option<Role>) -> pb::Role {
    match role {
        None => pb::Role::Unspecified,
        Some(Role::Owner) => pb::Role::Owner,
        Some(Role::Admin) => pb::Role::Admin,
        Some(Role::Member) => pb::Role::Member,
    }
}

/// A role from its wire value; unspecified or unknown is `None`.
pub fn role_from_proto(value: i32) -> Option<Role> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Owner) => Some(Role::Owner),
        Ok(pb::Role::Admin) => Some(Role::Admin),
        Ok(pb::Role::Member) => Some(Role::Member),
        Ok(pb::Role::Unspecified) | Err(_) => None,
    }
}

/// The protobuf form of a conversation kind.
pub fn kind_to_proto(kind: ConversationKind) -> pb::ConversationKind {
    match kind {
        ConversationKind::Direct => pb::ConversationKind::Direct,
        ConversationKind::Group => pb::ConversationKind::Group,
    }
}

/// The wire answer of `Authorize`.
pub fn decision_to_proto(decision: &Decision) -> pb::AuthorizeResponse {
    pb::AuthorizeResponse {
        allowed: decision.allowed,
        role: role_to_proto(decision.role).into(),
        reason: decision
            .reason
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        membership_version: decision.membership_version,
    }
}

/// Decodes an `Authorize` answer.
pub fn decision_from_proto(response: pb::AuthorizeResponse) -> Decision {
    Decision {
        allowed: response.allowed,
        role: role_from_proto(response.role),
        reason: if response.allowed {
            None
        } else {
            DenyReason::parse(&response.reason)
        },
        membership_version: response.membership_version,
    }
}

/// The wire answer of `Members`.
pub fn members_to_proto(members: &Members) -> pb::MembersResponse {
    pb::MembersResponse {
        members: members
            .members
            .iter()
            .map(|m| pb::Member {
                user_id: m.user_id.clone(),
                role: role_to_proto(Some(m.role)).into(),
            })
            .collect(),
        membership_version: members.membership_version,
    }
}

/// Decodes a `Members` answer; a member without a role is `Internal`.
pub fn members_from_proto(response: pb::MembersResponse) -> Result<Members, ClientError> {
    let members = response
        .members
        .into_iter()
        .map(|m| match role_from_proto(m.role) {
            Some(role) => Ok(Member {
                user_id: m.user_id,
                role,
            }),
            None => Err(ClientError::new(
                ErrorKind::Internal,
                format!("member {} has no role", m.user_id),
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Members {
        members,
        membership_version: response.membership_version,
    })
}

/// The wire answer of `EnsureDirect`.
pub fn conversation_to_proto(conversation: &Conversation) -> pb::EnsureDirectResponse {
    pb::EnsureDirectResponse {
        conversation: Some(pb::Conversation {
            conversation_id: conversation.conversation_id.clone(),
            kind: kind_to_proto(conversation.kind).into(),
            membership_version: conversation.membership_version,
            member_ids: conversation.member_ids.clone(),
        }),
        created: conversation.created,
    }
}

/// Decodes an `EnsureDirect` answer.
pub fn conversation_from_proto(
    response: pb::EnsureDirectResponse,
) -> Result<Conversation, ClientError> {
    let internal = |m: &str| ClientError::new(ErrorKind::Internal, m);
    let conversation = response
        .conversation
        .ok_or_else(|| internal("EnsureDirect answered without a conversation"))?;
    let kind = match pb::ConversationKind::try_from(conversation.kind) {
        Ok(pb::ConversationKind::Direct) => ConversationKind::Direct,
        Ok(pb::ConversationKind::Group) => ConversationKind::Group,
        _ => return Err(internal("conversation of unknown kind")),
    };
    Ok(Conversation {
        conversation_id: conversation.conversation_id,
        kind,
        membership_version: conversation.membership_version,
        member_ids: conversation.member_ids,
        created: response.created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_and_unspecified_is_refused() {
        for action in Action::ALL {
            assert_eq!(
                action_from_proto(action_to_proto(action).into()),
                Ok(action)
            );
        }
        assert!(action_from_proto(0).is_err());
        assert!(action_from_proto(99).is_err());
    }

    #[test]
    fn decisions_round_trip() {
        let denied = Decision::deny(DenyReason::AdminsOnly, Some(Role::Member), 7);
        assert_eq!(decision_from_proto(decision_to_proto(&denied)), denied);
        let allowed = Decision::allow(Role::Owner, 3);
        assert_eq!(decision_from_proto(decision_to_proto(&allowed)), allowed);
    }
}
