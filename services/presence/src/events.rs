//! Follows the profile service's privacy and block events so a change hides
//! (or shows) presence within about a second, not after the cache TTL.
//!
//! A live tail (no consumer group: every replica sees every event) of
//! `chatflow.profile.privacy_changed` (invalidates the user), `user_blocked`
//! and `user_unblocked` (invalidate both users: a block hides each from the
//! other). An event that cannot be read falls back to its record key (the
//! user or the blocker); failing that, everything is invalidated. If the
//! tail breaks, events may have been missed: it is reopened and every
//! answer invalidated.

use std::sync::Arc;
use std::time::Duration;

use chatflow_events::{BusError, Delivery, EventBusRef, Subscription};
use chatflow_profile::{PRIVACY_CHANGED_TOPIC, USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::profile::v1 as pb;
use prost::Message;

use crate::PresenceError;
use crate::node::Inner;
use crate::view::is_user_id;

/// The topics followed.
pub const PROFILE_TOPICS: [&str; 3] = [
    PRIVACY_CHANGED_TOPIC,
    USER_BLOCKED_TOPIC,
    USER_UNBLOCKED_TOPIC,
];

/// Opens the tail, then follows it in the background until the node stops.
pub(crate) async fn follow(inner: Arc<Inner>, bus: EventBusRef) -> Result<(), PresenceError> {
    let sub = open(&bus)
        .await
        .map_err(|e| PresenceError::Unavailable(format!("cannot follow profile events: {e}")))?;
    tokio::spawn(run(inner, bus, sub));
    Ok(())
}

async fn open(bus: &EventBusRef) -> Result<Box<dyn Subscription>, BusError> {
    let topics: Vec<String> = PROFILE_TOPICS.iter().map(|t| (*t).to_owned()).collect();
    bus.tail(&topics).await
}

async fn run(inner: Arc<Inner>, bus: EventBusRef, mut sub: Box<dyn Subscription>) {
    loop {
        let next = tokio::select! {
            () = inner.stop.cancelled() => break,
            next = sub.next() => next,
        };
        match next {
            Ok(delivery) => apply(&inner, &delivery),
            Err(err) => {
                tracing::warn!(error = %err, "profile event feed broke; reopening");
                let _ = sub.close().await;
                match reopen(&inner, &bus).await {
                    Some(fresh) => sub = fresh,
                    None => return,
                }
                inner.visibility.invalidate_all();
            }
        }
    }
    let _ = sub.close().await;
}

async fn reopen(inner: &Inner, bus: &EventBusRef) -> Option<Box<dyn Subscription>> {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            () = inner.stop.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        match open(bus).await {
            Ok(sub) => return Some(sub),
            Err(err) => tracing::warn!(error = %err, "cannot reopen the profile event feed"),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn apply(inner: &Inner, delivery: &Delivery) {
    match owners(delivery) {
        Ok(owners) => {
            for owner in owners {
                inner.visibility.invalidate(&owner);
            }
        }
        Err(reason) => {
            tracing::warn!(%reason, topic = %delivery.topic, "unreadable profile event");
            match std::str::from_utf8(&delivery.key)
                .ok()
                .filter(|k| is_user_id(k))
            {
                Some(key) => inner.visibility.invalidate(key),
                None => inner.visibility.invalidate_all(),
            }
        }
    }
}

/// The users whose visibility answers an event makes stale.
fn owners(delivery: &Delivery) -> Result<Vec<String>, String> {
    let envelope =
        EventEnvelope::decode(delivery.payload.as_ref()).map_err(|e| format!("envelope: {e}"))?;
    let data = envelope.data.as_slice();
    let owners = match delivery.topic.as_str() {
        PRIVACY_CHANGED_TOPIC => {
            let event = pb::PrivacyChanged::decode(data).map_err(|e| format!("body: {e}"))?;
            vec![event.user_id]
        }
        USER_BLOCKED_TOPIC => {
            let event = pb::UserBlocked::decode(data).map_err(|e| format!("body: {e}"))?;
            vec![event.blocker_id, event.blocked_id]
        }
        USER_UNBLOCKED_TOPIC => {
            let event = pb::UserUnblocked::decode(data).map_err(|e| format!("body: {e}"))?;
            vec![event.blocker_id, event.unblocked_id]
        }
        other => return Err(format!("unexpected topic {other:?}")),
    };
    if owners.iter().all(|o| is_user_id(o)) {
        Ok(owners)
    } else {
        Err("event with a malformed user id".into())
    }
}
