//! Deltas: publishing this node's reports and merging everyone else's.
//!
//! Every `delta_batch` the reports made since the last batch go out on
//! `presence:deltas` (and the last-seen times they carry are stored). The
//! channel is at most once: a batch that fails to publish, or that a node
//! misses while its subscription lags or reconnects, still arrives through
//! the snapshots — a lag or a reconnect triggers an anti-entropy pass at
//! once instead of waiting for the next interval.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chatflow_cache::{CacheError, MessageStream};
use chatflow_runtime::clock::now_ms;
use futures::StreamExt;

use super::{Inner, bump, last_seen};
use crate::wire::{self, DELTA_CHANNEL};

/// Longest pause between two attempts to resubscribe.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Publishes this node's reports every `delta_batch` until the node stops.
pub(super) async fn publish(inner: Arc<Inner>) {
    let mut ticks = tokio::time::interval(inner.settings.delta_batch);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = inner.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let (entries, times) = {
            let mut core = inner.core.lock();
            (core.take_outgoing(), core.take_last_seen())
        };
        if !entries.is_empty() {
            for payload in wire::encode_batches(&inner.node_id, None, &entries) {
                match inner.cache.publish(DELTA_CHANNEL, &payload).await {
                    Ok(()) => {
                        bump(&inner.counters.deltas_published, 1);
                        metrics::counter!(crate::metrics::DELTAS_PUBLISHED).increment(1);
                    }
                    Err(err) => {
                        // The snapshot carries the same reports shortly.
                        metrics::counter!(crate::metrics::REPLICATION_ERRORS, "op" => "publish")
                            .increment(1);
                        tracing::warn!(error = %err, "cannot publish presence deltas");
                    }
                }
            }
        }
        if !times.is_empty() {
            last_seen::write_many(&inner, times).await;
        }
    }
}

/// Merges the deltas of other nodes until the node stops, resubscribing
/// whenever the subscription is lost.
pub(super) async fn follow(inner: Arc<Inner>, mut stream: MessageStream) {
    loop {
        let next = tokio::select! {
            () = inner.stop.cancelled() => return,
            next = stream.next() => next,
        };
        match next {
            Some(Ok(payload)) => receive(&inner, &payload),
            Some(Err(CacheError::Lagged(skipped))) => {
                tracing::warn!(
                    skipped,
                    "presence deltas lagged; resynchronising from snapshots"
                );
                inner.resync.notify_one();
            }
            Some(Err(err)) => {
                tracing::warn!(error = %err, "presence delta subscription lost");
                match resubscribe(&inner).await {
                    Some(fresh) => stream = fresh,
                    None => return,
                }
            }
            None => match resubscribe(&inner).await {
                Some(fresh) => stream = fresh,
                None => return,
            },
        }
    }
}

/// Decodes, checks and merges one delta batch; anything refused is logged
/// and counted, never applied.
pub(crate) fn receive(inner: &Inner, payload: &[u8]) {
    let batch = match wire::decode_batch(payload, now_ms()) {
        Ok(batch) => batch,
        Err(err) => {
            inner.decode_failed("delta", &err);
            return;
        }
    };
    if batch.node == inner.node_id {
        return;
    }
    let (changed, reasserted) = inner.core.lock().merge_remote(batch.entries, now_ms());
    bump(&inner.counters.deltas_received, 1);
    bump(&inner.counters.reasserts, reasserted as u64);
    metrics::counter!(crate::metrics::DELTAS_RECEIVED).increment(1);
    if !changed.is_empty() {
        inner.changed(&changed);
    }
}

/// Subscribes again with backoff; then asks for an anti-entropy pass, since
/// deltas were missed meanwhile. `None` once the node stops.
async fn resubscribe(inner: &Inner) -> Option<MessageStream> {
    inner.replicating.store(false, Ordering::SeqCst);
    let mut backoff = Duration::from_millis(100);
    loop {
        metrics::counter!(crate::metrics::REPLICATION_ERRORS, "op" => "subscribe").increment(1);
        tokio::select! {
            () = inner.stop.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        match inner.cache.subscribe(DELTA_CHANNEL).await {
            Ok(stream) => {
                inner.replicating.store(true, Ordering::SeqCst);
                inner.resync.notify_one();
                tracing::info!("presence delta subscription restored");
                return Some(stream);
            }
            Err(err) => tracing::warn!(error = %err, "cannot resubscribe to presence deltas"),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
