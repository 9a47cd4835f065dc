//! One writer per conversation inside this process, and its last known head.
//!
//! Writes to a conversation queue on its async mutex, so one instance never
//! races itself for the next seq; instances still race each other, and the
//! head condition of the write transaction settles that. The mutex guards
//! the head this instance last wrote or read (`None` when unknown), which
//! saves a read per write while it stays right; a lost race clears it.
//!
//! Writers take the lock *before* they queue for a worker, so a burst in one
//! conversation waits here without occupying the worker pool (no
//! head-of-line blocking of other conversations or of urgent work), and at
//! most one job per conversation is in the lanes at a time. Waiting writers
//! per conversation are bounded; beyond the bound the write is refused as
//! overload (retriable).
//!
//! The map is bounded too: when it holds `capacity` conversations, the idle
//! ones (nobody holding or waiting for their lock) are dropped.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::RouterError;
use crate::store::Head;

type Slot = Arc<AsyncMutex<Option<Head>>>;

/// Per-conversation locks with a cached head each.
#[derive(Debug)]
pub struct Sequencer {
    slots: Mutex<HashMap<String, Slot>>,
    capacity: usize,
    max_waiting: usize,
}

/// The lock of one conversation, held until the write is done.
pub type HeadGuard = OwnedMutexGuard<Option<Head>>;

impl Sequencer {
    /// Remembers at most about `capacity` idle conversations and lets at
    /// most `max_waiting` writers wait for one conversation.
    pub fn new(capacity: usize, max_waiting: usize) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            max_waiting: max_waiting.max(1),
        }
    }

    /// Waits for the conversation's lock; the guard holds its cached head.
    /// Refused when too many writers already wait for it.
    pub async fn lock(&self, conversation_id: &str) -> Result<HeadGuard, RouterError> {
        let slot = {
            let mut slots = self.slots.lock();
            if slots.len() >= self.capacity && !slots.contains_key(conversation_id) {
                // Only the map holds an idle slot.
                slots.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
            let slot = slots.entry(conversation_id.to_owned()).or_default();
            // The map's reference, plus one per holder or waiter.
            if Arc::strong_count(slot) > self.max_waiting {
                return Err(RouterError::Overloaded {
                    lane: "conversation",
                });
            }
            slot.clone()
        };
        Ok(slot.lock_owned().await)
    }

    /// Conversations currently remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_head_survives_between_writers_of_one_conversation() {
        let sequencer = Sequencer::new(10, 100);
        {
            let mut head = sequencer.lock("c1").await.unwrap();
            assert_eq!(*head, None);
            *head = Some(Head { seq: 4, ts_ms: 9 });
        }
        assert_eq!(
            *sequencer.lock("c1").await.unwrap(),
            Some(Head { seq: 4, ts_ms: 9 })
        );
    }

    #[tokio::test]
    async fn writers_of_one_conversation_take_turns() {
        let sequencer = Arc::new(Sequencer::new(10, 100));
        let first = sequencer.lock("c1").await.unwrap();
        let waiting = {
            let sequencer = sequencer.clone();
            tokio::spawn(async move { *sequencer.lock("c1").await.unwrap() })
        };
        // Another conversation is not blocked.
        drop(sequencer.lock("c2").await.unwrap());
        assert!(!waiting.is_finished());
        drop(first);
        assert_eq!(waiting.await.unwrap(), None);
    }

    #[tokio::test]
    async fn too_many_waiting_writers_are_refused() {
        let sequencer = Arc::new(Sequencer::new(10, 2));
        let held = sequencer.lock("hot").await.unwrap();
        let waiter = {
            let sequencer = sequencer.clone();
            tokio::spawn(async move { sequencer.lock("hot").await.map(drop) })
        };
        while Arc::strong_count(&sequencer.slots.lock()["hot"]) < 3 {
            tokio::task::yield_now().await;
        }
        let refused = sequencer.lock("hot").await.err();
        assert!(matches!(refused, Some(RouterError::Overloaded { .. })));
        drop(held);
        waiter.await.unwrap().unwrap();
        drop(sequencer.lock("hot").await.unwrap());
    }

    #[tokio::test]
    async fn idle_conversations_are_evicted_at_capacity_busy_ones_kept() {
        let sequencer = Sequencer::new(3, 100);
        let busy = sequencer.lock("busy").await.unwrap();
        for i in 0..10 {
            drop(sequencer.lock(&format!("idle{i}")).await.unwrap());
        }
        assert!(sequencer.len() <= 3, "{}", sequencer.len());
        drop(busy);
        assert!(sequencer.slots.lock().contains_key("busy"));
    }
}
