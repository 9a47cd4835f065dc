//! Bookkeeping of group members of this bus that are still leaving.
//!
//! A dropped subscription leaves its group in the background. A new member of
//! the same group first waits (bounded) until those departures finished, so
//! the group rebalances once instead of twice. It also sidesteps a nisshi
//! bug: a JoinGroup that overlaps another member's LeaveGroup never completes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// Count of leaving members per group, shared by a bus and its subscriptions.
#[derive(Clone)]
pub(crate) struct Departures {
    leaving: Arc<watch::Sender<HashMap<String, usize>>>,
}

impl Departures {
    /// No member is leaving.
    pub(crate) fn new() -> Self {
        Self {
            leaving: Arc::new(watch::channel(HashMap::new()).0),
        }
    }

    /// Records that a member of `group` started leaving, until the ticket drops.
    pub(crate) fn begin(&self, group: &str) -> DepartureTicket {
        self.leaving
            .send_modify(|m| *m.entry(group.to_owned()).or_default() += 1);
        DepartureTicket {
            departures: self.clone(),
            group: group.to_owned(),
        }
    }

    /// Waits until no member of `group` is leaving, or `patience` passed.
    pub(crate) async fn settled(&self, group: &str, patience: Duration) {
        let mut rx = self.leaving.subscribe();
        let idle = rx.wait_for(|m| !m.contains_key(group));
        if tokio::time::timeout(patience, idle).await.is_err() {
            tracing::debug!(group, "joining while an earlier member is still leaving");
        }
    }
}

/// Held by a consumer that is leaving; dropped once it is destroyed.
pub(crate) struct DepartureTicket {
    departures: Departures,
    group: String,
}

impl Drop for DepartureTicket {
    fn drop(&mut self) {
        self.departures.leaving.send_modify(|m| {
            if let Some(n) = m.get_mut(&self.group) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.group);
                }
            }
        });
    }
}

/// A place for a ticket inside a consumer context (filled once, when leaving starts).
#[derive(Default)]
pub(crate) struct TicketSlot(Mutex<Option<DepartureTicket>>);

impl TicketSlot {
    /// Keeps `ticket` until the slot (the consumer) is dropped.
    pub(crate) fn hold(&self, ticket: DepartureTicket) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settles_when_the_last_ticket_drops() {
        let departures = Departures::new();
        let (a, b) = (departures.begin("g"), departures.begin("g"));
        let other = departures.begin("h");
        drop(a);
        let short = Duration::from_millis(20);
        let started = tokio::time::Instant::now();
        departures.settled("g", short).await;
        assert!(
            started.elapsed() >= short,
            "still leaving: waited out the patience"
        );
        drop(b);
        let started = tokio::time::Instant::now();
        departures.settled("g", Duration::from_secs(5)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(other);
    }
}
