//! Follows `chatflow.groups.membership_changed` with a live tail (no consumer
//! group, so every node sees every event) and invalidates the cached answers
//! of each conversation it names.
//!
//! If the tail fails, events may have been missed: the cache is emptied and
//! bypassed until a fresh tail is open, then emptied once more and used again.
//! After shutdown the cache is bypassed for good.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chatflow_events::{Delivery, EventBusRef, Subscription};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::groups::v1 as pb;
use prost::Message;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::MEMBERSHIP_CHANGED_TOPIC;

/// Opens the tail; once this returns, every event published later is seen.
pub(super) async fn open(
    bus: &EventBusRef,
) -> Result<Box<dyn Subscription>, chatflow_events::BusError> {
    bus.tail(&[MEMBERSHIP_CHANGED_TOPIC.to_owned()]).await
}

/// Applies invalidations from `sub` until `shutdown`, reopening on failure.
pub(super) async fn run(
    shared: Arc<Shared>,
    bus: EventBusRef,
    mut sub: Box<dyn Subscription>,
    shutdown: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break,
            next = sub.next() => next,
        };
        match next {
            Ok(delivery) => apply(&shared, &delivery),
            Err(err) => {
                tracing::warn!(error = %err, "membership feed broke; bypassing the cache until it is back");
                shared.healthy.store(false, Ordering::SeqCst);
                shared.store.lock().reset();
                metrics::counter!(crate::metrics::CACHE_RESETS).increment(1);
                let _ = sub.close().await;
                match reopen(&bus, &shutdown).await {
                    Some(fresh) => sub = fresh,
                    None => return,
                }
                // Nothing was cached while the feed was down (bypass), but
                // empty once more for fills that straddled the outage.
                shared.store.lock().reset();
                shared.healthy.store(true, Ordering::SeqCst);
                tracing::info!("membership feed restored");
            }
        }
    }
    // Without a feed nothing would invalidate answers any more: stop caching.
    shared.healthy.store(false, Ordering::SeqCst);
    shared.store.lock().reset();
    let _ = sub.close().await;
}

/// Opens a new tail, retrying with backoff; `None` on shutdown.
async fn reopen(bus: &EventBusRef, shutdown: &CancellationToken) -> Option<Box<dyn Subscription>> {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        match open(bus).await {
            Ok(sub) => return Some(sub),
            Err(err) => tracing::warn!(error = %err, "cannot reopen the membership feed; retrying"),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Invalidates the conversation an event is about; an event that cannot be
/// read falls back to its record key, and failing that to everything.
fn apply(shared: &Shared, delivery: &Delivery) {
    let conversation = match decode(&delivery.payload) {
        Ok(conversation) => Some(conversation),
        Err(reason) => {
            tracing::warn!(%reason, offset = delivery.offset, "undecodable membership event");
            String::from_utf8(delivery.key.clone())
                .ok()
                .filter(|k| !k.is_empty())
        }
    };
    let mut store = shared.store.lock();
    match conversation {
        Some(conversation) => {
            store.invalidate(&conversation);
        }
        None => store.reset(),
    }
    drop(store);
    metrics::counter!(crate::metrics::CACHE_INVALIDATIONS).increment(1);
    shared.invalidations.send_modify(|n| *n += 1);
}

/// The conversation id of an enveloped `MembershipChanged`.
fn decode(payload: &[u8]) -> Result<String, String> {
    let envelope = EventEnvelope::decode(payload).map_err(|e| format!("envelope: {e}"))?;
    let change = pb::MembershipChanged::decode(envelope.data.as_slice())
        .map_err(|e| format!("body: {e}"))?;
    if change.conversation_id.is_empty() {
        return Err("event without conversation id".into());
    }
    Ok(change.conversation_id)
}
