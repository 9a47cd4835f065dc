//! Visibility answers in front of the [`VisibilityPort`]: cached for
//! `visibility_cache_ttl`, dropped per owner when a profile event says the
//! owner's settings or blocks changed.
//!
//! An answer fetched before an invalidation must not outlive it: every
//! invalidation records when it happened, and an answer is kept (in the
//! cache or a watch) only if no invalidation of its owner came after the
//! question was asked.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::{PresenceError, VisibilityRef};

/// Cached answers kept at most; past it expired ones go, then everything.
const MAX_CACHED: usize = 200_000;
/// Owners per question to the port.
const MAX_OWNERS_PER_CALL: usize = 1000;
/// How long an invalidation is remembered (longer than any question takes).
const INVALIDATION_MEMORY: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Cache {
    /// owner → viewer → (visible, fetched at).
    by_owner: HashMap<String, HashMap<String, (bool, Instant)>>,
    len: usize,
    /// owner → when its answers were last invalidated.
    invalidated: HashMap<String, Instant>,
}

/// The cache, plus the owners whose watches must be re-evaluated.
pub(crate) struct Visibility {
    port: VisibilityRef,
    ttl: Duration,
    timeout: Duration,
    cache: Mutex<Cache>,
    /// Owners invalidated since the refresher last looked; `None` = all.
    pending: Mutex<Option<HashSet<String>>>,
    /// Wakes the refresher.
    pub(crate) wake: Notify,
}

impl Visibility {
    pub(crate) fn new(port: VisibilityRef, ttl: Duration, timeout: Duration) -> Self {
        Self {
            port,
            ttl,
            timeout,
            cache: Mutex::default(),
            pending: Mutex::new(Some(HashSet::new())),
            wake: Notify::new(),
        }
    }

    /// Whether `viewer` may see each of `owners`, from the cache where fresh.
    pub(crate) async fn visible(
        &self,
        viewer: &str,
        owners: &[String],
    ) -> Result<Vec<bool>, PresenceError> {
        let asked = Instant::now();
        let mut answers: Vec<Option<bool>> = {
            let cache = self.cache.lock();
            owners
                .iter()
                .map(|owner| {
                    if owner == viewer {
                        return Some(true);
                    }
                    cache
                        .by_owner
                        .get(owner)
                        .and_then(|viewers| viewers.get(viewer))
                        .filter(|(_, at)| asked.saturating_duration_since(*at) < self.ttl)
                        .map(|(visible, _)| *visible)
                })
                .collect()
        };
        let mut misses: Vec<String> = owners
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_none())
            .map(|(owner, _)| owner.clone())
            .collect();
        misses.sort_unstable();
        misses.dedup();
        let mut fetched = HashMap::new();
        for batch in misses.chunks(MAX_OWNERS_PER_CALL) {
            let outcome =
                tokio::time::timeout(self.timeout, self.port.visible(viewer, batch)).await;
            let visible = match outcome {
                Ok(Ok(visible)) if visible.len() == batch.len() => visible,
                Ok(Ok(_)) => {
                    count("malformed");
                    return Err(PresenceError::Internal(
                        "the visibility port answered for another number of owners".into(),
                    ));
                }
                Ok(Err(err)) => {
                    count("error");
                    return Err(err);
                }
                Err(_) => {
                    count("timeout");
                    return Err(PresenceError::Unavailable(format!(
                        "the profile service did not answer within {:?}",
                        self.timeout
                    )));
                }
            };
            count("ok");
            fetched.extend(batch.iter().cloned().zip(visible));
        }
        if !fetched.is_empty() {
            self.store(viewer, &fetched, asked);
        }
        for (owner, answer) in owners.iter().zip(answers.iter_mut()) {
            if answer.is_none() {
                *answer = fetched.get(owner).copied();
            }
        }
        Ok(answers.into_iter().map(|a| a.unwrap_or(false)).collect())
    }

    fn store(&self, viewer: &str, fetched: &HashMap<String, bool>, asked: Instant) {
        let mut cache = self.cache.lock();
        if cache.len + fetched.len() > MAX_CACHED {
            let ttl = self.ttl;
            let now = Instant::now();
            for viewers in cache.by_owner.values_mut() {
                viewers.retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            }
            cache.by_owner.retain(|_, viewers| !viewers.is_empty());
            cache.len = cache.by_owner.values().map(HashMap::len).sum();
            if cache.len + fetched.len() > MAX_CACHED {
                cache.by_owner.clear();
                cache.len = 0;
            }
        }
        for (owner, visible) in fetched {
            if cache.invalidated.get(owner).is_some_and(|at| *at >= asked) {
                continue;
            }
            let viewers = cache.by_owner.entry(owner.clone()).or_default();
            if viewers
                .insert(viewer.to_owned(), (*visible, asked))
                .is_none()
            {
                cache.len += 1;
            }
        }
    }

    /// Whether `owner`'s answers were invalidated at or after `since`.
    pub(crate) fn invalidated_since(&self, owner: &str, since: Instant) -> bool {
        self.cache
            .lock()
            .invalidated
            .get(owner)
            .is_some_and(|at| *at >= since)
    }

    /// Drops `owner`'s answers and queues their watches for re-evaluation.
    pub(crate) fn invalidate(&self, owner: &str) {
        let now = Instant::now();
        {
            let mut cache = self.cache.lock();
            if let Some(viewers) = cache.by_owner.remove(owner) {
                cache.len -= viewers.len();
            }
            if cache.invalidated.len() > 10_000 {
                cache
                    .invalidated
                    .retain(|_, at| now.saturating_duration_since(*at) < INVALIDATION_MEMORY);
            }
            cache.invalidated.insert(owner.to_owned(), now);
        }
        if let Some(pending) = self.pending.lock().as_mut() {
            pending.insert(owner.to_owned());
        }
        metrics::counter!(crate::metrics::VISIBILITY_INVALIDATIONS).increment(1);
        self.wake.notify_one();
    }

    /// Drops every answer and queues every watch (events may have been missed).
    pub(crate) fn invalidate_all(&self) {
        let mut cache = self.cache.lock();
        cache.by_owner.clear();
        cache.len = 0;
        drop(cache);
        *self.pending.lock() = None;
        self.wake.notify_one();
    }

    /// Queues `owners` again without waking the refresher (a retry).
    pub(crate) fn requeue(&self, owners: &[String]) {
        if let Some(pending) = self.pending.lock().as_mut() {
            pending.extend(owners.iter().cloned());
        }
    }

    /// Takes the queued owners: `(owners, all)`.
    pub(crate) fn take_pending(&self) -> (HashSet<String>, bool) {
        match self.pending.lock().replace(HashSet::new()) {
            Some(owners) => (owners, false),
            None => (HashSet::new(), true),
        }
    }
}

fn count(outcome: &'static str) {
    metrics::counter!(crate::metrics::VISIBILITY_CALLS, "outcome" => outcome).increment(1);
}
