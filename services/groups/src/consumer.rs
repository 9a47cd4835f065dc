//! Consumes the profile service's block events into the blocks table.
//!
//! `chatflow.profile.user_blocked` and `chatflow.profile.user_unblocked`
//! arrive on two topics, so their relative order is not guaranteed; each
//! carries the time it happened and the newest per pair wins (see
//! [`crate::store::blocks`]). Applying is idempotent, so redeliveries change
//! nothing. Malformed events are dead-lettered; store failures are retried.

use std::time::Duration;

use async_trait::async_trait;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_events::{Delivery, EventBusRef, Handler, HandlerError, RetryPolicy, run_consumer};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::profile::v1 as profile;
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::{USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC};

/// The handler: one block or unblock per event.
pub struct BlockWriter {
    /// Where blocks are applied.
    pub engine: Engine,
}

/// What the handler keeps of a block event.
#[derive(Debug, PartialEq, Eq)]
struct BlockChange {
    blocker: String,
    target: String,
    blocked: bool,
    at_ms: i64,
}

#[async_trait]
impl Handler for BlockWriter {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let change = decode(&delivery.payload).inspect_err(|_| count("dead_lettered"))?;
        match self
            .engine
            .apply_block(
                &change.blocker,
                &change.target,
                change.blocked,
                change.at_ms,
            )
            .await
        {
            Ok(changed) => {
                count(if changed { "applied" } else { "unchanged" });
                Ok(())
            }
            Err(err) if err.kind() == ErrorKind::InvalidArgument => {
                count("dead_lettered");
                Err(HandlerError::Permanent(err.to_string()))
            }
            Err(err) => Err(HandlerError::Transient(format!(
                "cannot apply a block: {err}"
            ))),
        }
    }
}

fn decode(payload: &[u8]) -> Result<BlockChange, HandlerError> {
    let permanent = |reason: String| HandlerError::Permanent(reason);
    let envelope = EventEnvelope::decode(payload)
        .map_err(|e| permanent(format!("not an event envelope: {e}")))?;
    let fallback = envelope.time;
    let (blocker, target, blocked, at) = match envelope.r#type.as_str() {
        USER_BLOCKED_TOPIC => {
            let e = profile::UserBlocked::decode(envelope.data.as_slice())
                .map_err(|e| permanent(format!("not a UserBlocked: {e}")))?;
            (e.blocker_id, e.blocked_id, true, e.blocked_at)
        }
        USER_UNBLOCKED_TOPIC => {
            let e = profile::UserUnblocked::decode(envelope.data.as_slice())
                .map_err(|e| permanent(format!("not a UserUnblocked: {e}")))?;
            (e.blocker_id, e.unblocked_id, false, e.unblocked_at)
        }
        other => return Err(permanent(format!("unexpected event type {other:?}"))),
    };
    let at_ms = at.or(fallback).map_or(0, |t| {
        t.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(t.nanos) / 1_000_000)
    });
    Ok(BlockChange {
        blocker,
        target,
        blocked,
        at_ms,
    })
}

fn count(outcome: &'static str) {
    metrics::counter!(crate::metrics::BLOCK_EVENTS, "outcome" => outcome).increment(1);
}

/// Subscribes (retrying while the bus is unreachable) and runs the consumer
/// until `shutdown`, committing offsets as it goes.
pub async fn run(
    bus: EventBusRef,
    group: String,
    writer: BlockWriter,
    shutdown: CancellationToken,
) {
    let topics = [
        USER_BLOCKED_TOPIC.to_owned(),
        USER_UNBLOCKED_TOPIC.to_owned(),
    ];
    let mut backoff = Duration::from_millis(100);
    let sub = loop {
        match bus.subscribe(&group, &topics).await {
            Ok(sub) => break sub,
            Err(err) => {
                tracing::warn!(error = %err, "cannot subscribe to block events; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    };
    if let Err(err) = run_consumer(sub, bus, writer, RetryPolicy::default(), shutdown).await {
        tracing::error!(error = %err, "block event consumer stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str, data: Vec<u8>) -> Vec<u8> {
        EventEnvelope {
            r#type: kind.into(),
            data,
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn blocks_and_unblocks_decode_with_their_times() {
        let at = Some(prost_types::Timestamp {
            seconds: 12,
            nanos: 345_000_000,
        });
        let block = profile::UserBlocked {
            blocker_id: "a".into(),
            blocked_id: "b".into(),
            blocked_at: at,
        };
        let got = decode(&envelope(USER_BLOCKED_TOPIC, block.encode_to_vec())).unwrap();
        assert_eq!(
            got,
            BlockChange {
                blocker: "a".into(),
                target: "b".into(),
                blocked: true,
                at_ms: 12_345
            }
        );
        let unblock = profile::UserUnblocked {
            blocker_id: "a".into(),
            unblocked_id: "b".into(),
            unblocked_at: at,
        };
        assert!(
            !decode(&envelope(USER_UNBLOCKED_TOPIC, unblock.encode_to_vec()))
                .unwrap()
                .blocked
        );
    }

    #[test]
    fn garbage_is_permanent() {
        for payload in [
            b"\xff\xff".to_vec(),
            envelope("chatflow.other", vec![]),
            envelope(USER_BLOCKED_TOPIC, vec![0xff]),
        ] {
            assert!(matches!(decode(&payload), Err(HandlerError::Permanent(_))));
        }
    }
}
