//! Builds the discovery directory from `chatflow.auth.account_verified`.
//!
//! Each event's identifier is normalised (emails lower-cased, phones as
//! E.164), hashed with the discovery key and stored as hash → user id; the
//! identifier itself is never written anywhere. The owner's (empty) profile
//! is created too, so verified users can be viewed and found. Writes are
//! upserts, so a redelivered event changes nothing. Malformed events are
//! dead-lettered; store failures are retried by the runner.

use std::time::Duration;

use async_trait::async_trait;
use chatflow_events::{Delivery, EventBusRef, Handler, HandlerError, RetryPolicy, run_consumer};
use chatflow_proto::auth::v1 as auth;
use chatflow_proto::events::v1::EventEnvelope;
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::keys::DiscoveryKey;
use crate::store::{DirectoryEntry, ProfileStore};
use crate::{ACCOUNT_VERIFIED_TOPIC, ProfileError, validate};

/// The handler: one directory entry per verified identifier.
pub struct DirectoryWriter {
    /// Where entries go.
    pub store: ProfileStore,
    /// What hashes them.
    pub key: DiscoveryKey,
}

#[async_trait]
impl Handler for DirectoryWriter {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let event = decode(delivery).inspect_err(|_| count("dead_lettered"))?;
        let hash = self.key.hash(&event.identifier);
        let entry = DirectoryEntry {
            hash: &hash,
            key_id: self.key.id(),
            user_id: &event.account_id,
            verified_at_ms: event.verified_at_ms,
        };
        self.store_entry(&entry)
            .await
            .map_err(|e| HandlerError::Transient(format!("cannot store a directory entry: {e}")))?;
        count("stored");
        tracing::debug!(user_id = %event.account_id, "identifier added to the discovery directory");
        Ok(())
    }
}

impl DirectoryWriter {
    async fn store_entry(&self, entry: &DirectoryEntry<'_>) -> Result<(), ProfileError> {
        let mut tx = self.store.begin().await?;
        self.store.record_identifier(&mut tx, entry).await?;
        let now = chatflow_runtime::clock::now_ms();
        self.store
            .ensure_profile(&mut tx, entry.user_id, now)
            .await?;
        self.store.commit(tx).await
    }
}

/// What the handler keeps of an `AccountVerified`.
struct Verified {
    account_id: String,
    identifier: String,
    verified_at_ms: i64,
}

fn decode(delivery: &Delivery) -> Result<Verified, HandlerError> {
    let permanent = |reason: String| HandlerError::Permanent(reason);
    let envelope = EventEnvelope::decode(delivery.payload.as_ref())
        .map_err(|e| permanent(format!("not an event envelope: {e}")))?;
    if envelope.r#type != ACCOUNT_VERIFIED_TOPIC {
        return Err(permanent(format!(
            "unexpected event type {:?}",
            envelope.r#type
        )));
    }
    let event = auth::AccountVerified::decode(envelope.data.as_slice())
        .map_err(|e| permanent(format!("not an AccountVerified: {e}")))?;
    validate::id("account_id", &event.account_id).map_err(|e| permanent(e.to_string()))?;
    let identifier = match auth::Channel::try_from(event.channel) {
        Ok(auth::Channel::Email) => event.identifier.trim().to_lowercase(),
        Ok(auth::Channel::Sms) => event.identifier.trim().to_owned(),
        _ => return Err(permanent(format!("unknown channel {}", event.channel))),
    };
    if identifier.is_empty() {
        return Err(permanent("empty identifier".into()));
    }
    let verified_at_ms = event
        .verified_at
        .or(envelope.time)
        .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
    Ok(Verified {
        account_id: event.account_id,
        identifier,
        verified_at_ms,
    })
}

fn count(outcome: &'static str) {
    metrics::counter!(crate::metrics::DIRECTORY_EVENTS, "outcome" => outcome).increment(1);
}

/// Subscribes (retrying while the bus is unreachable) and runs the
/// consumer until `shutdown`, committing offsets as it goes.
pub async fn run(
    bus: EventBusRef,
    group: String,
    writer: DirectoryWriter,
    shutdown: CancellationToken,
) {
    let topics = [ACCOUNT_VERIFIED_TOPIC.to_owned()];
    let mut backoff = Duration::from_millis(100);
    let sub = loop {
        match bus.subscribe(&group, &topics).await {
            Ok(sub) => break sub,
            Err(err) => {
                tracing::warn!(error = %err, "cannot subscribe to account_verified; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    };
    if let Err(err) = run_consumer(sub, bus, writer, RetryPolicy::default(), shutdown).await {
        tracing::error!(error = %err, "account_verified consumer stopped");
    }
}
