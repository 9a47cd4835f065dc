//! The node's two local loops: flushing watch updates (every
//! `delta_batch`), and keeping each watch's visibility answers current —
//! at once for owners a profile event invalidated, otherwise every
//! `visibility_cache_ttl` (contacts changes publish no event).
//!
//! If the port fails while re-evaluating an invalidated owner, the owner is
//! hidden from that watch (fail closed) and asked again a second later; a
//! failing periodic check keeps the previous answer until the next one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_runtime::clock::now_ms;
use futures::StreamExt;

use super::watch::Recheck;
use super::{Inner, bump};

/// How often queued retries and due periodic checks are looked at.
const RECHECK_TICK: Duration = Duration::from_secs(1);
/// Visibility questions in flight at once.
const CONCURRENCY: usize = 8;

/// Sends coalesced watch updates until the node stops; then ends every
/// watch (their `recv` returns `None`).
pub(super) async fn flush(inner: Arc<Inner>) {
    let mut ticks = tokio::time::interval(inner.settings.delta_batch);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = inner.stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let now = now_ms();
        let expired = inner.core.lock().due_expiries(now);
        let users = {
            let mut watches = inner.watches.lock();
            watches.mark_dirty(&expired);
            watches.due_users(Instant::now(), inner.settings.coalesce)
        };
        if users.is_empty() {
            continue;
        }
        let presence: HashMap<String, _> = {
            let core = inner.core.lock();
            users
                .into_iter()
                .map(|u| {
                    let p = core.presence(&u, now);
                    (u, p)
                })
                .collect()
        };
        let flushed =
            inner
                .watches
                .lock()
                .flush(&presence, Instant::now(), inner.settings.coalesce);
        if flushed.sent > 0 {
            bump(&inner.counters.watch_sent, flushed.sent);
            metrics::counter!(crate::metrics::WATCH_SENT).increment(flushed.sent);
        }
        if flushed.dropped > 0 {
            bump(&inner.counters.watch_dropped, flushed.dropped);
            metrics::counter!(crate::metrics::WATCH_DROPPED).increment(flushed.dropped);
        }
    }
    inner.watches.lock().clear();
}

/// Re-evaluates visibility for watches until the node stops.
pub(super) async fn visibility(inner: Arc<Inner>) {
    let mut ticks = tokio::time::interval(RECHECK_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = inner.stop.cancelled() => return,
            () = inner.visibility.wake.notified() => {}
            _ = ticks.tick() => {}
        }
        let (owners, all) = inner.visibility.take_pending();
        let jobs: Vec<(Recheck, bool)> = {
            let mut watches = inner.watches.lock();
            let mut jobs: Vec<(Recheck, bool)> = Vec::new();
            if all || !owners.is_empty() {
                jobs.extend(
                    watches
                        .rechecks_for(&owners, all)
                        .into_iter()
                        .map(|r| (r, true)),
                );
            }
            let ttl = inner.settings.visibility_cache_ttl;
            jobs.extend(
                watches
                    .due_rechecks(Instant::now(), ttl)
                    .into_iter()
                    .map(|r| (r, false)),
            );
            jobs
        };
        futures::stream::iter(jobs)
            .map(|(job, invalidated)| {
                let inner = &inner;
                async move {
                    let asked = Instant::now();
                    let answer = inner.visibility.visible(&job.viewer, &job.owners).await;
                    apply(inner, &job, invalidated, asked, answer);
                }
            })
            .buffer_unordered(CONCURRENCY)
            .for_each(|()| async {})
            .await;
    }
}

/// Records one re-evaluation's answers in its watch.
fn apply(
    inner: &Inner,
    job: &Recheck,
    invalidated: bool,
    asked: Instant,
    answer: Result<Vec<bool>, crate::PresenceError>,
) {
    match answer {
        Ok(visible) => {
            let mut watches = inner.watches.lock();
            for (owner, visible) in job.owners.iter().zip(visible) {
                // A newer invalidation overrides this answer; its own job follows.
                if inner.visibility.invalidated_since(owner, asked) {
                    continue;
                }
                watches.set_visible(job.watch, owner, visible);
            }
        }
        Err(err) if invalidated => {
            tracing::warn!(error = %err, viewer = %job.viewer, "cannot re-check visibility; hiding until it can");
            let mut watches = inner.watches.lock();
            for owner in &job.owners {
                watches.set_visible(job.watch, owner, false);
            }
            drop(watches);
            inner.visibility.requeue(&job.owners);
        }
        Err(err) => {
            tracing::warn!(error = %err, viewer = %job.viewer, "cannot refresh visibility; keeping the last answer");
        }
    }
}
