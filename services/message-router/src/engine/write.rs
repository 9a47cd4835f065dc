//! The write loop a worker runs: one conversation at a time in this
//! process, one transaction per attempt, bounded retries when another
//! instance wins the race for the seq, and the idempotency answer for
//! retries of writes already stored.

use std::time::Duration;

use chatflow_kv::KvError;
use rand::Rng;

use super::drafts::Prepared;
use super::{Engine, WriteOp};
use crate::sequencer::HeadGuard;
use crate::store::codec::fingerprint;
use crate::store::{self, AckRecord, Head};
use crate::{RouterError, SendAck, events, metrics as m};

impl Engine {
    /// Stores `op` at the conversation's next seq and returns its ack, or
    /// the original ack if the same write was stored before.
    /// `cached` is the conversation's lock, holding the head last seen.
    pub(super) async fn write(
        &self,
        op: WriteOp,
        mut cached: HeadGuard,
    ) -> Result<SendAck, RouterError> {
        let store = &self.inner.store;
        let conversation_id = op.conversation_id().to_owned();
        let template = op.template();
        let digest = fingerprint(&template);
        let attempts = self.inner.sequencing.max_attempts.max(1);
        for attempt in 1..=attempts {
            if attempt > 1 {
                metrics::counter!(m::WRITE_RETRIES).increment(1);
                tokio::time::sleep(self.jitter(attempt - 1)).await;
            }
            let (head, fresh) = match *cached {
                Some(head) => (head, false),
                None => (store.head(&conversation_id).await?, true),
            };
            *cached = Some(head);
            let mut message = template.clone();
            message.seq = head.seq + 1;
            message.server_ts_ms = chatflow_runtime::clock::now_ms().max(head.ts_ms);
            let extra = match self.prepare(&op, head, &message).await {
                Ok(Prepared::Ready(extra)) => extra,
                Ok(Prepared::StaleHead) if !fresh => {
                    *cached = None;
                    continue;
                }
                Ok(Prepared::StaleHead) => {
                    return self.refuse(&op, &digest, beyond_head(&op, head.seq)).await;
                }
                Err(err) => return self.refuse(&op, &digest, err).await,
            };
            let ack = SendAck {
                conversation_id: conversation_id.clone(),
                seq: message.seq,
                server_ts_ms: message.server_ts_ms,
                client_msg_id: op.client_msg_id().to_owned(),
                duplicate: false,
            };
            let record = AckRecord {
                ack: ack.clone(),
                fingerprint: digest.clone(),
            };
            let expires_at = chatflow_runtime::clock::now_secs()
                .saturating_add(i64::try_from(self.inner.idempotency_ttl_secs).unwrap_or(i64::MAX));
            let to = Head {
                seq: message.seq,
                ts_ms: message.server_ts_ms,
            };
            let mut ops = Vec::with_capacity(4 + extra.len());
            ops.push(store::head_op(&conversation_id, head, to)?);
            ops.push(store::new_message_op(&message)?);
            ops.extend(extra);
            ops.push(store::ack_op(op.sender_id(), &record, expires_at)?);
            ops.push(store::outbox_op(
                &message,
                &events::outbox_record(&message),
            )?);
            match store.commit(ops).await {
                Ok(()) => {
                    *cached = Some(to);
                    self.inner.relay_wake.wake(&conversation_id);
                    return Ok(ack);
                }
                Err(KvError::TransactionCanceled { op: index, reason }) => {
                    *cached = None;
                    if let Some(existing) = self.stored_ack(&op).await? {
                        return duplicate(existing, &digest);
                    }
                    metrics::counter!(m::SEQ_CONFLICTS).increment(1);
                    tracing::debug!(%conversation_id, attempt, index, %reason, "lost the race for the next seq");
                }
                Err(err) => {
                    // The outcome is unknown (e.g. a timeout): forget the head,
                    // the client retries with the same id.
                    *cached = None;
                    return Err(err.into());
                }
            }
        }
        Err(RouterError::Contention {
            conversation_id,
            attempts,
        })
    }

    /// A refusal based on stored state, unless the write was already stored
    /// (a retry after success whose target changed since): then its ack.
    async fn refuse(
        &self,
        op: &WriteOp,
        digest: &str,
        err: RouterError,
    ) -> Result<SendAck, RouterError> {
        match self.stored_ack(op).await? {
            Some(existing) => duplicate(existing, digest),
            None => Err(err),
        }
    }

    async fn stored_ack(&self, op: &WriteOp) -> Result<Option<AckRecord>, RouterError> {
        self.inner
            .store
            .ack(op.conversation_id(), op.sender_id(), op.client_msg_id())
            .await
    }

    /// A random wait up to the backoff cap of `retry` (full jitter).
    fn jitter(&self, retry: u32) -> Duration {
        let cap = self.inner.sequencing.backoff_cap(retry).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=cap))
    }
}

/// The original ack of a retried write, or a conflict if the id was reused
/// for something else.
fn duplicate(existing: AckRecord, digest: &str) -> Result<SendAck, RouterError> {
    if existing.fingerprint != digest {
        return Err(RouterError::Conflict(format!(
            "client_msg_id {} was already used for a different request (seq {})",
            existing.ack.client_msg_id, existing.ack.seq
        )));
    }
    Ok(SendAck {
        duplicate: true,
        ..existing.ack
    })
}

/// The error for a request pointing past the conversation's last seq.
fn beyond_head(op: &WriteOp, last_seq: u64) -> RouterError {
    let missing = |seq: u64| {
        RouterError::NotFound(format!(
            "message {seq} does not exist (the conversation's last seq is {last_seq})"
        ))
    };
    match op {
        WriteOp::Send(request) => RouterError::invalid(format!(
            "reply_to_seq {} does not exist (the conversation's last seq is {last_seq})",
            request.reply_to_seq.unwrap_or_default()
        )),
        WriteOp::Edit(request) => missing(request.target_seq),
        WriteOp::Delete(request) => missing(request.target_seq),
        WriteOp::React(request) => missing(request.target_seq),
        // Notices point at nothing; never asked for a fresher head.
        WriteOp::System(_) => missing(0),
    }
}
