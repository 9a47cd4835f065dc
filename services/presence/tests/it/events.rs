//! Publishing profile events as the profile service's outbox would.

use chatflow_events::OutgoingRecord;
use chatflow_profile::{PRIVACY_CHANGED_TOPIC, USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC};
use chatflow_proto::profile::v1 as pb;
use chatflow_testkit::TestBackends;
use prost::Message;

async fn publish(backends: &TestBackends, topic: &str, key: &str, event: &impl Message) {
    let envelope = chatflow_outbox::envelope_for(topic, "profile", key, event);
    let record = OutgoingRecord::new(topic, key.as_bytes().to_vec(), envelope.encode_to_vec());
    backends.bus.publish(record).await.unwrap();
}

/// `blocker` blocks (or unblocks) `other`.
pub async fn publish_block(backends: &TestBackends, blocker: &str, other: &str, blocked: bool) {
    if blocked {
        let event = pb::UserBlocked {
            blocker_id: blocker.to_owned(),
            blocked_id: other.to_owned(),
            blocked_at: None,
        };
        publish(backends, USER_BLOCKED_TOPIC, blocker, &event).await;
    } else {
        let event = pb::UserUnblocked {
            blocker_id: blocker.to_owned(),
            unblocked_id: other.to_owned(),
            unblocked_at: None,
        };
        publish(backends, USER_UNBLOCKED_TOPIC, blocker, &event).await;
    }
}

/// `user` changed their privacy settings.
pub async fn publish_privacy(backends: &TestBackends, user: &str) {
    let event = pb::PrivacyChanged {
        user_id: user.to_owned(),
        settings: Some(pb::PrivacySettings::default()),
        version: 1,
        changed_at: None,
    };
    publish(backends, PRIVACY_CHANGED_TOPIC, user, &event).await;
}

/// Bytes that are no event at all, keyed by `user`.
pub async fn publish_garbage(backends: &TestBackends, user: &str) {
    let record = OutgoingRecord::new(
        PRIVACY_CHANGED_TOPIC,
        user.as_bytes().to_vec(),
        b"\xffnot protobuf".to_vec(),
    );
    backends.bus.publish(record).await.unwrap();
}
