//! System notices for membership changes: the router follows
//! `chatflow.groups.membership_changed` and posts each visible change as a
//! `system` message on the urgent lane, so "Ada added Bo" sits in the
//! conversation's order like any message and every member sees it at the
//! same place. Silent events (cache invalidations, e.g. a block in a direct
//! conversation) are never shown.
//!
//! The notice's `text` is a small JSON object clients render:
//! `{"event": "member_added", "actor_id": …, "subject_ids": […],
//! "membership_version": 7, "member_count": 9}` (plus `role`, `changed_fields`
//! or `invite_id` where they apply). The idempotency key is derived from the
//! event, so a redelivered event never posts twice.

use async_trait::async_trait;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_events::{Delivery, EventBusRef, Handler, HandlerError, RetryPolicy};
use chatflow_groups_client::MEMBERSHIP_CHANGED_TOPIC;
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::groups::v1::{MembershipChanged, membership_changed::Kind};
use prost::Message as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{RouterClientRef, SystemNotice};

/// The consumer group of the notice poster (one post per event fleet-wide).
pub const NOTICES_GROUP: &str = "message-router-notices";
/// Subjects named in one notice; larger changes say how many more.
const MAX_SUBJECTS: usize = 40;

/// Posts membership notices through `router`.
pub struct MembershipNotices {
    router: RouterClientRef,
}

impl MembershipNotices {
    /// A poster writing through `router`.
    pub fn new(router: RouterClientRef) -> Self {
        Self { router }
    }

    /// Follows the groups topic until `stop`; the topic must exist.
    pub async fn run(
        self,
        bus: EventBusRef,
        stop: CancellationToken,
    ) -> Result<(), chatflow_events::BusError> {
        let topics = [MEMBERSHIP_CHANGED_TOPIC.to_owned()];
        let subscription = bus.subscribe(NOTICES_GROUP, &topics).await?;
        chatflow_events::run_consumer(subscription, bus, self, RetryPolicy::default(), stop).await
    }
}

/// The notice for an event, or `None` for events nobody should see.
pub fn notice_for(event: &MembershipChanged) -> Option<SystemNotice> {
    if event.silent || event.conversation_id.is_empty() {
        return None;
    }
    let kind = Kind::try_from(event.kind).ok()?;
    let name = match kind {
        Kind::Unspecified => return None,
        Kind::Created => "created",
        Kind::MemberAdded => "member_added",
        Kind::MemberRemoved => "member_removed",
        Kind::MemberLeft => "member_left",
        Kind::RoleChanged => "role_changed",
        Kind::OwnershipTransferred => "ownership_transferred",
        Kind::InfoChanged => "info_changed",
        Kind::PermissionsChanged => "permissions_changed",
    };
    let shown: Vec<&String> = event.subject_ids.iter().take(MAX_SUBJECTS).collect();
    let mut body = json!({
        "event": name,
        "actor_id": event.actor_id,
        "subject_ids": shown,
        "membership_version": event.membership_version,
        "member_count": event.member_count,
    });
    let more = event.subject_ids.len().saturating_sub(MAX_SUBJECTS);
    if more > 0 {
        body["more_subjects"] = json!(more);
    }
    if kind == Kind::RoleChanged || kind == Kind::OwnershipTransferred {
        body["role"] = json!(event.role().as_str_name());
    }
    if !event.changed_fields.is_empty() {
        body["changed_fields"] = json!(event.changed_fields);
    }
    if !event.invite_id.is_empty() {
        body["invite_id"] = json!(event.invite_id);
    }
    // Info changes keep the membership version: the time tells them apart.
    let time_ms = event
        .time
        .as_ref()
        .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos / 1_000_000));
    let mut mentions: Vec<String> = shown.into_iter().cloned().collect();
    if !event.actor_id.is_empty() && !mentions.contains(&event.actor_id) {
        mentions.push(event.actor_id.clone());
    }
    Some(SystemNotice {
        conversation_id: event.conversation_id.clone(),
        client_msg_id: format!("mc-{}-{}-{time_ms}", event.membership_version, event.kind),
        text: body.to_string(),
        mentions,
    })
}

#[async_trait]
impl Handler for MembershipNotices {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let envelope = EventEnvelope::decode(delivery.payload.as_ref())
            .map_err(|e| HandlerError::Permanent(format!("not an event envelope: {e}")))?;
        let event = MembershipChanged::decode(envelope.data.as_slice())
            .map_err(|e| HandlerError::Permanent(format!("not a membership change: {e}")))?;
        let Some(notice) = notice_for(&event) else {
            return Ok(());
        };
        match self.router.send_system(notice).await {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == ErrorKind::InvalidArgument => {
                Err(HandlerError::Permanent(err.to_string()))
            }
            Err(err) => Err(HandlerError::Transient(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: Kind) -> MembershipChanged {
        MembershipChanged {
            conversation_id: "g_1".into(),
            kind: kind as i32,
            actor_id: "ada".into(),
            subject_ids: vec!["bo".into()],
            membership_version: 3,
            member_count: 2,
            ..Default::default()
        }
    }

    #[test]
    fn visible_changes_become_notices_with_stable_ids() {
        let notice = notice_for(&event(Kind::MemberAdded)).unwrap();
        let body: serde_json::Value = serde_json::from_str(&notice.text).unwrap();
        assert_eq!(body["event"], "member_added");
        assert_eq!(body["subject_ids"], json!(["bo"]));
        assert_eq!(notice.mentions, vec!["bo".to_owned(), "ada".to_owned()]);
        assert_eq!(
            notice,
            notice_for(&event(Kind::MemberAdded)).unwrap(),
            "same event, same id"
        );
        assert_ne!(
            notice.client_msg_id,
            notice_for(&event(Kind::MemberRemoved))
                .unwrap()
                .client_msg_id
        );
    }

    #[test]
    fn silent_and_unknown_events_are_never_shown() {
        let mut silent = event(Kind::PermissionsChanged);
        silent.silent = true;
        assert_eq!(notice_for(&silent), None);
        assert_eq!(notice_for(&event(Kind::Unspecified)), None);
    }

    #[test]
    fn large_changes_name_a_bounded_number_of_subjects() {
        let mut big = event(Kind::MemberAdded);
        big.subject_ids = (0..100).map(|i| format!("u{i}")).collect();
        let notice = notice_for(&big).unwrap();
        let body: serde_json::Value = serde_json::from_str(&notice.text).unwrap();
        assert_eq!(body["more_subjects"], 60);
        assert!(notice.mentions.len() <= 50);
    }
}
