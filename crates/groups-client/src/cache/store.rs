//! The cached answers: per conversation, bounded in size, expiring, and
//! guarded against the fill race.
//!
//! The race: a lookup misses, asks the groups service, and while the answer
//! travels back an invalidation for that conversation arrives. Storing the
//! answer afterwards would keep a stale entry until its TTL. So every
//! invalidation is numbered and remembered in a short log; a fill records the
//! number current when it started and is stored only if no invalidation of
//! its conversation (and no reset) happened since. If the log has moved on
//! too far to tell, the answer is not stored — it is still returned.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::{Action, Decision, Members};

/// How many recent invalidations are remembered for the fill check.
const RECENT: usize = 4096;

/// A cached value and when it stops being served.
struct Timed<T> {
    value: T,
    expires_at: Instant,
}

/// The cached answers of one conversation.
#[derive(Default)]
struct Bucket {
    /// Tells this bucket from an older one of the same conversation in `order`.
    serial: u64,
    members: Option<Timed<Members>>,
    decisions: HashMap<(String, Action), Timed<Decision>>,
}

impl Bucket {
    fn len(&self) -> usize {
        self.decisions.len() + usize::from(self.members.is_some())
    }
}

/// Every cached answer; callers hold it behind a mutex.
pub(crate) struct Store {
    max_entries: usize,
    ttl: Duration,
    buckets: HashMap<String, Bucket>,
    /// Buckets by creation, oldest first, for eviction; may hold stale pairs.
    order: VecDeque<(String, u64)>,
    entries: usize,
    next_serial: u64,
    /// Number of the latest invalidation.
    seq: u64,
    /// Recent invalidations: (number, conversation), `None` meaning all.
    recent: VecDeque<(u64, Option<String>)>,
}

impl Store {
    pub(crate) fn new(max_entries: usize, ttl: Duration) -> Self {
        Self {
            max_entries: max_entries.max(1),
            ttl,
            buckets: HashMap::new(),
            order: VecDeque::new(),
            entries: 0,
            next_serial: 0,
            seq: 0,
            recent: VecDeque::new(),
        }
    }

    /// The invalidation number a fill starting now must compare against.
    pub(crate) fn mark(&self) -> u64 {
        self.seq
    }

    /// Number of cached answers.
    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    pub(crate) fn decision(
        &self,
        conversation: &str,
        user: &str,
        action: Action,
    ) -> Option<Decision> {
        let entry = self
            .buckets
            .get(conversation)?
            .decisions
            .get(&(user.to_owned(), action))?;
        (entry.expires_at > Instant::now()).then(|| entry.value.clone())
    }

    pub(crate) fn members(&self, conversation: &str) -> Option<Members> {
        let entry = self.buckets.get(conversation)?.members.as_ref()?;
        (entry.expires_at > Instant::now()).then(|| entry.value.clone())
    }

    /// Stores a decision fetched since `mark`, unless it may be stale.
    pub(crate) fn put_decision(
        &mut self,
        mark: u64,
        conversation: &str,
        user: &str,
        action: Action,
        decision: Decision,
    ) {
        if self.invalidated_since(mark, conversation) {
            return;
        }
        let expires_at = Instant::now() + self.ttl;
        let bucket = self.bucket(conversation);
        let fresh = bucket
            .decisions
            .insert(
                (user.to_owned(), action),
                Timed {
                    value: decision,
                    expires_at,
                },
            )
            .is_none();
        self.entries += usize::from(fresh);
        self.evict();
    }

    /// Stores a member list fetched since `mark`, unless it may be stale.
    pub(crate) fn put_members(&mut self, mark: u64, conversation: &str, members: Members) {
        if self.invalidated_since(mark, conversation) {
            return;
        }
        let expires_at = Instant::now() + self.ttl;
        let bucket = self.bucket(conversation);
        let fresh = bucket
            .members
            .replace(Timed {
                value: members,
                expires_at,
            })
            .is_none();
        self.entries += usize::from(fresh);
        self.evict();
    }

    /// Drops every answer about `conversation`; returns how many there were.
    pub(crate) fn invalidate(&mut self, conversation: &str) -> usize {
        self.remember(Some(conversation.to_owned()));
        let dropped = self.buckets.remove(conversation).map_or(0, |b| b.len());
        self.entries -= dropped;
        dropped
    }

    /// Drops everything (the invalidation feed may have missed events).
    pub(crate) fn reset(&mut self) {
        self.remember(None);
        self.buckets.clear();
        self.order.clear();
        self.entries = 0;
    }

    fn remember(&mut self, conversation: Option<String>) {
        self.seq += 1;
        self.recent.push_back((self.seq, conversation));
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }

    /// Whether `conversation` (or everything) was invalidated after `mark`,
    /// or the log no longer reaches back that far.
    fn invalidated_since(&self, mark: u64, conversation: &str) -> bool {
        if self.seq == mark {
            return false;
        }
        match self.recent.front() {
            Some((oldest, _)) if *oldest <= mark + 1 => {}
            _ => return true,
        }
        self.recent
            .iter()
            .rev()
            .take_while(|(seq, _)| *seq > mark)
            .any(|(_, c)| c.as_deref().is_none_or(|c| c == conversation))
    }

    fn bucket(&mut self, conversation: &str) -> &mut Bucket {
        if !self.buckets.contains_key(conversation) {
            self.next_serial += 1;
            let serial = self.next_serial;
            self.order.push_back((conversation.to_owned(), serial));
            self.buckets.insert(
                conversation.to_owned(),
                Bucket {
                    serial,
                    ..Bucket::default()
                },
            );
        }
        self.buckets
            .get_mut(conversation)
            .unwrap_or_else(|| unreachable!("bucket inserted above"))
    }

    /// Drops whole conversations, oldest first, until within bounds.
    fn evict(&mut self) {
        while self.entries > self.max_entries {
            let Some((conversation, serial)) = self.order.pop_front() else {
                break;
            };
            if self
                .buckets
                .get(&conversation)
                .is_some_and(|b| b.serial == serial)
                && let Some(bucket) = self.buckets.remove(&conversation)
            {
                self.entries -= bucket.len();
            }
        }
        // Invalidated buckets leave stale pairs behind; keep the queue bounded.
        if self.order.len() > 2 * self.buckets.len() + 64 {
            let buckets = &self.buckets;
            self.order
                .retain(|(c, serial)| buckets.get(c).is_some_and(|b| b.serial == *serial));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn allow() -> Decision {
        Decision::allow(Role::Member, 1)
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_not_stored() {
        let mut store = Store::new(100, Duration::from_secs(60));
        let mark = store.mark();
        store.invalidate("c1");
        store.put_decision(mark, "c1", "u", Action::Post, allow());
        assert_eq!(store.decision("c1", "u", Action::Post), None);
        // Another conversation's invalidation does not matter.
        store.put_decision(mark, "c2", "u", Action::Post, allow());
        assert_eq!(store.decision("c2", "u", Action::Post), Some(allow()));
        // A reset invalidates every fill in flight.
        let mark = store.mark();
        store.reset();
        store.put_decision(mark, "c3", "u", Action::Post, allow());
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn size_is_bounded_by_evicting_the_oldest_conversations() {
        let mut store = Store::new(3, Duration::from_secs(60));
        for c in ["a", "b", "c", "d"] {
            let mark = store.mark();
            store.put_decision(mark, c, "u", Action::Read, allow());
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.decision("a", "u", Action::Read), None);
        assert!(store.decision("d", "u", Action::Read).is_some());
        for _ in 0..1000 {
            store.invalidate("b");
            let mark = store.mark();
            store.put_decision(mark, "b", "u", Action::Read, allow());
        }
        assert!(store.order.len() <= 2 * store.buckets.len() + 64);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn entries_expire() {
        let mut store = Store::new(10, Duration::ZERO);
        let mark = store.mark();
        store.put_decision(mark, "c", "u", Action::Read, allow());
        assert_eq!(store.decision("c", "u", Action::Read), None);
    }

    #[test]
    fn a_log_that_moved_on_too_far_refuses_the_fill() {
        let mut store = Store::new(10, Duration::from_secs(60));
        let mark = store.mark();
        for i in 0..(RECENT + 1) {
            store.invalidate(&format!("other-{i}"));
        }
        store.put_decision(mark, "c", "u", Action::Read, allow());
        assert_eq!(store.len(), 0);
    }
}
