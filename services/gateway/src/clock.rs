//! One coarse timer wheel per node for every connection's deadlines: the
//! hello timeout, the idle timeout, token expiry and its refresh window,
//! and presence going away. A connection holds no timer of its own; it
//! holds one entry here at a time, at its next deadline, and nothing on
//! this wheel moves when a frame arrives: the connection just records the
//! time, and when its entry comes due it works out what actually expired
//! and when to look again.
//!
//! Resolution is one second, which every one of these deadlines tolerates.
//! Entries hold weak references, so a closed connection leaves nothing
//! behind but a stale entry that is skipped when it comes due.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Something with deadlines on the wheel (a connection).
pub trait Timed: Send + Sync + 'static {
    /// Where the wheel records the second of this one's live entry.
    fn slot(&self) -> &TimerSlot;

    /// An entry came due at second `now`: act on whatever expired and
    /// return the second to look again, if any.
    fn on_due(&self, now: u64) -> Option<u64>;
}

/// The second of a [`Timed`]'s live entry on the wheel (0: none).
#[derive(Debug, Default)]
pub struct TimerSlot(AtomicU64);

/// The node's wheel; cheap to clone.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    wheel: Mutex<BTreeMap<u64, Vec<Weak<dyn Timed>>>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A wheel whose second 1 is now.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                wheel: Mutex::default(),
            }),
        }
    }

    /// The current second of this wheel (never 0).
    pub fn now(&self) -> u64 {
        self.inner.start.elapsed().as_secs() + 1
    }

    /// The second `after` from now, rounded up.
    pub fn after(&self, after: Duration) -> u64 {
        let elapsed = self.inner.start.elapsed() + after;
        let secs = elapsed.as_secs() + u64::from(elapsed.subsec_nanos() > 0);
        secs + 1
    }

    /// Makes sure `timed` is looked at no later than second `at`. An entry
    /// already due earlier stays (it reschedules itself when it fires).
    pub fn schedule(&self, timed: &Arc<dyn Timed>, at: u64) {
        let at = at.max(1);
        let slot = &timed.slot().0;
        let current = slot.load(Ordering::Acquire);
        if current != 0 && current <= at {
            return;
        }
        slot.store(at, Ordering::Release);
        self.inner
            .wheel
            .lock()
            .entry(at)
            .or_default()
            .push(Arc::downgrade(timed));
    }

    /// Entries due at or before `now` that are still live, taken off the wheel.
    fn due(&self, now: u64) -> Vec<Arc<dyn Timed>> {
        let mut due = Vec::new();
        let mut wheel = self.inner.wheel.lock();
        while let Some(entry) = wheel.first_entry() {
            if *entry.key() > now {
                break;
            }
            let (at, timers) = entry.remove_entry();
            for timed in timers.iter().filter_map(Weak::upgrade) {
                // Stale when the connection was rescheduled elsewhere since.
                let slot = &timed.slot().0;
                if slot
                    .compare_exchange(at, 0, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    due.push(timed);
                }
            }
        }
        due
    }

    /// Fires what is due at second `now`; returns how many fired.
    pub fn fire(&self, now: u64) -> usize {
        let due = self.due(now);
        for timed in &due {
            if let Some(next) = timed.on_due(now) {
                self.schedule(timed, next.max(now + 1));
            }
        }
        due.len()
    }

    /// Entries on the wheel, stale ones included.
    pub fn len(&self) -> usize {
        self.inner.wheel.lock().values().map(Vec::len).sum()
    }

    /// Whether the wheel is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ticks once a second until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {
                    self.fire(self.now());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Due every `every` seconds until it fired `times` times.
    struct Every {
        slot: TimerSlot,
        every: u64,
        fired: AtomicUsize,
        times: usize,
    }

    impl Timed for Every {
        fn slot(&self) -> &TimerSlot {
            &self.slot
        }
        fn on_due(&self, now: u64) -> Option<u64> {
            let fired = self.fired.fetch_add(1, Ordering::SeqCst) + 1;
            (fired < self.times).then_some(now + self.every)
        }
    }

    fn every(every: u64, times: usize) -> Arc<dyn Timed> {
        Arc::new(Every {
            slot: TimerSlot::default(),
            every,
            fired: AtomicUsize::new(0),
            times,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn entries_fire_at_their_second_and_reschedule_themselves() {
        let clock = Clock::new();
        let timed = every(2, 3);
        clock.schedule(&timed, clock.after(Duration::from_secs(2)));
        let fired: Vec<usize> = (1..=8).map(|s| clock.fire(s)).collect();
        assert_eq!(fired, [0, 0, 1, 0, 1, 0, 1, 0]);
        assert!(clock.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_wins_and_a_later_one_waits_for_it() {
        let clock = Clock::new();
        let timed = every(100, 1);
        clock.schedule(&timed, 10);
        clock.schedule(&timed, 20);
        assert_eq!(clock.len(), 1, "a later deadline adds no entry");
        clock.schedule(&timed, 5);
        assert_eq!(clock.fire(9), 1, "fires once, at the earlier second");
        assert_eq!(clock.fire(10), 0, "the entry at 10 is stale");
        assert!(clock.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_connection_leaves_only_a_skipped_entry() {
        let clock = Clock::new();
        let timed = every(1, 10);
        clock.schedule(&timed, 3);
        drop(timed);
        assert_eq!(clock.fire(3), 0);
        assert!(clock.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_running_wheel_follows_tokio_time() {
        let clock = Clock::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(clock.clone().run(stop.clone()));
        let timed = every(1, 1);
        clock.schedule(&timed, clock.after(Duration::from_secs(5)));
        tokio::time::sleep(Duration::from_millis(4_500)).await;
        assert_eq!(clock.len(), 1, "not due yet");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(clock.is_empty(), "fired within a second of its deadline");
        stop.cancel();
        task.await.unwrap();
    }
}
