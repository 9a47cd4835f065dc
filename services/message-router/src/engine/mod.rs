//! The router's core, shared by REST, gRPC and in-process callers.
//!
//! A write is validated, authorized (membership, behind its breaker), takes
//! its conversation's lock in this process, is queued in its priority lane,
//! and is run by a worker: it builds the message at the next seq and commits
//! it in one transaction (see [`crate::store`]). The ack is returned only
//! after that commit. Reads check membership and page by seq.

mod drafts;
mod lanes;
mod read;
mod write;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::lanes::Lanes;
use crate::membership::{GuardedMembership, MemberAction, Membership};
use crate::relay::RelayWake;
use crate::sequencer::Sequencer;
use crate::settings::{LaneConfig, Limits, SequencingConfig};
use crate::store::MessageStore;
use crate::{Caller, RouterError, SendAck, metrics as m};

pub(crate) use drafts::WriteOp;
use lanes::MemberCounts;

/// Everything the engine is built from.
pub(crate) struct EngineParts {
    pub store: MessageStore,
    pub membership: GuardedMembership,
    pub lanes: Lanes,
    pub limits: Limits,
    pub sequencing: SequencingConfig,
    pub lane_config: LaneConfig,
    pub idempotency_ttl_secs: u64,
    pub relay_wake: Arc<RelayWake>,
}

struct Inner {
    store: MessageStore,
    membership: GuardedMembership,
    lanes: Lanes,
    sequencer: Sequencer,
    member_counts: MemberCounts,
    limits: Limits,
    sequencing: SequencingConfig,
    lane_config: LaneConfig,
    idempotency_ttl_secs: u64,
    relay_wake: Arc<RelayWake>,
}

/// The router's operations; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(parts: EngineParts) -> Self {
        let sequencer = Sequencer::new(
            parts.sequencing.cached_conversations,
            parts.sequencing.max_waiting_per_conversation,
        );
        let member_counts = MemberCounts::new(&parts.lane_config);
        Self {
            inner: Arc::new(Inner {
                store: parts.store,
                membership: parts.membership,
                lanes: parts.lanes,
                sequencer,
                member_counts,
                limits: parts.limits,
                sequencing: parts.sequencing,
                lane_config: parts.lane_config,
                idempotency_ttl_secs: parts.idempotency_ttl_secs,
                relay_wake: parts.relay_wake,
            }),
        }
    }

    /// The router's tables.
    pub fn store(&self) -> &MessageStore {
        &self.inner.store
    }

    /// The membership dependency behind its breaker.
    pub fn membership(&self) -> &GuardedMembership {
        &self.inner.membership
    }

    /// Refuses unless `caller` may do `action` in the conversation.
    async fn authorize(
        &self,
        caller: &Caller,
        conversation_id: &str,
        action: MemberAction,
    ) -> Result<(), RouterError> {
        let answer = self
            .inner
            .membership
            .authorize(&caller.user_id, conversation_id, action)
            .await?;
        if answer.allowed {
            return Ok(());
        }
        tracing::info!(
            user_id = %caller.user_id,
            conversation_id,
            action = action.as_str(),
            "membership check refused"
        );
        Err(RouterError::PermissionDenied(answer.reason.unwrap_or_else(
            || {
                format!(
                    "user {} may not {} in conversation {conversation_id}",
                    caller.user_id,
                    action.as_str()
                )
            },
        )))
    }

    /// Runs a write: validate, authorize (unless a system notice), queue in
    /// its lane, commit on a worker, and count the outcome.
    pub(crate) async fn submit(&self, op: WriteOp) -> Result<SendAck, RouterError> {
        let started = Instant::now();
        let name = op.name();
        let result = self.submit_inner(op).await;
        let outcome = match &result {
            Ok(ack) if ack.duplicate => "duplicate",
            Ok(_) => "ok",
            Err(err) => err.outcome(),
        };
        metrics::counter!(m::WRITES, "op" => name, "outcome" => outcome).increment(1);
        metrics::histogram!(m::WRITE_SECONDS, "op" => name).record(started.elapsed().as_secs_f64());
        if let Err(err) = &result
            && err.is_retriable()
        {
            tracing::warn!(op = name, error = %err, "write not stored; the client may retry");
        }
        result
    }

    async fn submit_inner(&self, op: WriteOp) -> Result<SendAck, RouterError> {
        op.validate(&self.inner.limits)?;
        if let Some(caller) = op.caller() {
            self.authorize(caller, op.conversation_id(), MemberAction::Post)
                .await?;
        }
        let lane = self.lane_for(&op).await;
        // Waiting is bounded: past the deadline the write is refused unstored.
        let queued = tokio::time::Instant::now();
        let deadline = queued + Duration::from_millis(self.inner.lane_config.max_wait_ms);
        let backlogged = move || RouterError::Backlogged {
            lane: lane.as_str(),
            waited_ms: u64::try_from(queued.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        // The conversation's lock is taken before queueing, so a burst in one
        // conversation waits here rather than on the workers (see `sequencer`).
        let head =
            tokio::time::timeout_at(deadline, self.inner.sequencer.lock(op.conversation_id()))
                .await
                .map_err(|_| backlogged())??;
        let engine = self.clone();
        let done = self.inner.lanes.submit(lane, async move {
            if tokio::time::Instant::now() >= deadline {
                return Err(backlogged());
            }
            engine.write(op, head).await
        })?;
        done.await.map_err(|_| RouterError::ShuttingDown)?
    }
}
