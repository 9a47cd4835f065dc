//! What the client tasks report while a phase runs, and the per-phase
//! bookkeeping that turns it into deliveries, losses and duplicates.
//!
//! Every message of the load has a `client_msg_id` of the form
//! `<phase tag>-<sender>-<n>`, so a delivery is attributed to its phase by
//! its id, whenever it arrives.

use std::collections::{BTreeMap, HashMap, HashSet};

/// Which kind of client saw something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the messages.
    Sender,
    /// Only receives (and watches presence).
    Receiver,
    /// Floods typing and presence.
    Flooder,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Receiver => "receiver",
            Self::Flooder => "flooder",
        }
    }
}

/// An ephemeral frame a receiver got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ephemeral {
    /// `typing` from another member.
    Typing,
    /// `receipt`: a member's delivered or read mark moved (reliable, not
    /// ephemeral, but counted alongside as the other live extra).
    Receipt,
    /// `presence` of a watched user, with the status it announced.
    Presence(String),
    /// `watching`, the answer to `watch`, with each watched user's status.
    Watching(Vec<String>),
}

/// One observation of a client task.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A receiver got a message of the load, `latency_ns` after it was sent.
    Delivered {
        /// Which receiver.
        receiver: usize,
        /// The message's `client_msg_id`.
        client_msg_id: String,
        /// Receive time minus the send time written in the text.
        latency_ns: u64,
    },
    /// A receiver got `seq` of the group when it expected `expected`.
    OutOfOrder {
        /// Which receiver.
        receiver: usize,
        /// The last seq plus one.
        expected: u64,
        /// What came.
        got: u64,
    },
    /// A receiver got an ephemeral frame.
    Ephemeral(Ephemeral),
    /// An `error` frame, by what it answered (`watch`, `typing/presence`, ...).
    Error {
        /// Who got it.
        role: Role,
        /// The request it answered.
        request: &'static str,
        /// Its `code`.
        code: String,
    },
    /// A connection ended.
    Closed {
        /// Whose.
        role: Role,
        /// Which client of that role.
        index: usize,
        /// The close code and reason.
        why: String,
    },
}

/// Everything the receivers saw during one phase.
#[derive(Debug)]
pub struct PhaseTally {
    tag: &'static str,
    receivers: usize,
    /// Deliveries per message of this phase, counted per receiver.
    deliveries: HashMap<String, Vec<u32>>,
    /// (message, receiver) pairs delivered at least once.
    distinct: usize,
    /// Latency of each first delivery, in nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// Deliveries of other phases' messages that arrived during this one.
    pub late: u64,
    /// Seqs out of order (gaps or repeats) seen by receivers.
    pub out_of_order: u64,
    /// Typing frames received by receivers.
    pub typing: u64,
    /// Receipt frames received by receivers.
    pub receipts: u64,
    /// Presence frames received by receivers, by status.
    pub presence: BTreeMap<String, u64>,
    /// `watching` answers received by receivers.
    pub watching: u64,
    /// The statuses those answers gave, counted.
    pub watched: BTreeMap<String, u64>,
    /// Error frames, by `"<role> <request>: <code>"`.
    pub errors: BTreeMap<String, u64>,
    /// Connections that ended, with why.
    pub closed: Vec<String>,
}

/// The delivery outcome of a phase's acknowledged messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Acked messages times receivers.
    pub expected: u64,
    /// Of those, delivered at least once.
    pub received: u64,
    /// Of those, never delivered.
    pub lost: u64,
    /// Deliveries beyond the first of a message to a receiver.
    pub duplicates: u64,
}

impl PhaseTally {
    /// An empty tally for the messages tagged `tag`.
    pub fn new(tag: &'static str, receivers: usize) -> Self {
        Self {
            tag,
            receivers,
            deliveries: HashMap::new(),
            distinct: 0,
            latencies_ns: Vec::new(),
            late: 0,
            out_of_order: 0,
            typing: 0,
            receipts: 0,
            presence: BTreeMap::new(),
            watching: 0,
            watched: BTreeMap::new(),
            errors: BTreeMap::new(),
            closed: Vec::new(),
        }
    }

    /// Counts one event.
    pub fn record(&mut self, event: Event) {
        match event {
            Event::Delivered {
                receiver,
                client_msg_id,
                latency_ns,
            } => {
                if client_msg_id.split('-').next() != Some(self.tag) {
                    self.late += 1;
                    return;
                }
                let counts = self
                    .deliveries
                    .entry(client_msg_id)
                    .or_insert_with(|| vec![0; self.receivers]);
                if let Some(count) = counts.get_mut(receiver) {
                    *count += 1;
                    if *count == 1 {
                        self.distinct += 1;
                        self.latencies_ns.push(latency_ns);
                    }
                }
            }
            Event::OutOfOrder { .. } => self.out_of_order += 1,
            Event::Ephemeral(Ephemeral::Typing) => self.typing += 1,
            Event::Ephemeral(Ephemeral::Receipt) => self.receipts += 1,
            Event::Ephemeral(Ephemeral::Presence(status)) => {
                *self.presence.entry(status).or_default() += 1;
            }
            Event::Ephemeral(Ephemeral::Watching(statuses)) => {
                self.watching += 1;
                for status in statuses {
                    *self.watched.entry(status).or_default() += 1;
                }
            }
            Event::Error {
                role,
                request,
                code,
            } => {
                let key = format!("{} {request}: {code}", role.name());
                *self.errors.entry(key).or_default() += 1;
            }
            Event::Closed { role, index, why } => {
                self.closed.push(format!("{} {index}: {why}", role.name()));
            }
        }
    }

    /// Whether every receiver has every one of `acked`.
    pub fn has_all(&self, acked: &HashSet<String>) -> bool {
        // Cheap test first: not enough deliveries yet.
        self.distinct >= acked.len() * self.receivers && self.outcome(acked).lost == 0
    }

    /// Deliveries, losses and duplicates of the `acked` messages.
    pub fn outcome(&self, acked: &HashSet<String>) -> Delivery {
        let mut outcome = Delivery {
            expected: (acked.len() * self.receivers) as u64,
            received: 0,
            lost: 0,
            duplicates: 0,
        };
        for id in acked {
            let counts = self.deliveries.get(id);
            for receiver in 0..self.receivers {
                match counts.and_then(|c| c.get(receiver)).copied().unwrap_or(0) {
                    0 => outcome.lost += 1,
                    n => {
                        outcome.received += 1;
                        outcome.duplicates += u64::from(n - 1);
                    }
                }
            }
        }
        // Messages delivered without an ack (the ack was lost) repeat too.
        for (id, counts) in &self.deliveries {
            if !acked.contains(id) {
                let extra: u32 = counts.iter().map(|n| n.saturating_sub(1)).sum();
                outcome.duplicates += u64::from(extra);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(receiver: usize, id: &str) -> Event {
        Event::Delivered {
            receiver,
            client_msg_id: id.to_owned(),
            latency_ns: 1_000,
        }
    }

    #[test]
    fn losses_and_duplicates_are_counted_per_receiver() {
        let mut tally = PhaseTally::new("b", 2);
        let acked: HashSet<String> = ["b-0-0", "b-0-1"].map(str::to_owned).into();
        for event in [
            delivered(0, "b-0-0"),
            delivered(1, "b-0-0"),
            delivered(0, "b-0-1"),
            delivered(0, "b-0-1"),
            delivered(1, "f-0-9"),
        ] {
            tally.record(event);
        }
        assert!(!tally.has_all(&acked));
        assert_eq!(
            tally.outcome(&acked),
            Delivery {
                expected: 4,
                received: 3,
                lost: 1,
                duplicates: 1
            }
        );
        assert_eq!((tally.late, tally.latencies_ns.len()), (1, 3));
        tally.record(delivered(1, "b-0-1"));
        assert!(tally.has_all(&acked));
    }
}
