//! Building `MembershipChanged` events from a conversation after a change.

use chatflow_groups_client::{Role, convert};
use chatflow_proto::groups::v1 as pb;
use pb::membership_changed::Kind;

use crate::store::ConversationRow;
use crate::store::conversations::permissions_proto;

/// An event about `conversation` (as it is after the change) with the
/// fields every kind carries; callers fill in the kind-specific ones.
pub fn event(
    conversation: &ConversationRow,
    kind: Kind,
    actor: &str,
    subjects: Vec<String>,
    now_ms: i64,
) -> pb::MembershipChanged {
    pb::MembershipChanged {
        conversation_id: conversation.id.clone(),
        kind: kind.into(),
        actor_id: actor.to_owned(),
        subject_ids: subjects,
        membership_version: conversation.membership_version,
        time: Some(timestamp(now_ms)),
        conversation_kind: convert::kind_to_proto(conversation.kind).into(),
        member_count: u32::try_from(conversation.member_count).unwrap_or(u32::MAX),
        ..pb::MembershipChanged::default()
    }
}

/// KIND_CREATED: the initial members, info and permissions.
pub fn created(
    conversation: &ConversationRow,
    subjects: Vec<String>,
    now_ms: i64,
) -> pb::MembershipChanged {
    pb::MembershipChanged {
        info: Some(conversation.info_proto()),
        permissions: Some(permissions_proto(&conversation.permissions)),
        ..event(
            conversation,
            Kind::Created,
            &conversation.created_by,
            subjects,
            now_ms,
        )
    }
}

/// KIND_ROLE_CHANGED or KIND_OWNERSHIP_TRANSFERRED with the roles set.
pub fn role_change(
    conversation: &ConversationRow,
    kind: Kind,
    actor: &str,
    subject: &str,
    role: Role,
    previous: Role,
    now_ms: i64,
) -> pb::MembershipChanged {
    pb::MembershipChanged {
        role: convert::role_to_proto(Some(role)).into(),
        previous_role: convert::role_to_proto(Some(previous)).into(),
        ..event(conversation, kind, actor, vec![subject.to_owned()], now_ms)
    }
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}
