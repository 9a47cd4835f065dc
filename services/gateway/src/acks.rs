//! Delivery acks, batched: clients ack every message (or every few), and
//! the receipts service wants few, large calls. Each node collects acks for
//! a short interval, keeps only the highest `seq` per device and
//! conversation, and sends one call per device. An ack that finds the
//! batch full is dropped (and counted): marks are high-water marks, so the
//! device's next ack covers it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics;
use crate::ports::{Caller, ReceiptPort};

/// Acks queued on a node before new ones are dropped.
const QUEUE: usize = 8192;
/// Most marks in one call to the receipts service.
const MAX_MARKS_PER_CALL: usize = 256;
/// Calls to the receipts service in flight at once per flush.
const CONCURRENCY: usize = 16;

/// One acknowledged position.
#[derive(Debug)]
struct Ack {
    caller: Caller,
    conversation_id: String,
    seq: u64,
}

/// The sending side, shared by a node's connections; cheap to clone.
#[derive(Clone)]
pub struct AckBatcher {
    tx: mpsc::Sender<Ack>,
}

/// The collecting side, run once per node by the service.
pub struct AckFlusher {
    rx: mpsc::Receiver<Ack>,
    receipts: Arc<dyn ReceiptPort>,
    every: Duration,
}

/// A connected batcher and its flusher.
pub fn batcher(receipts: Arc<dyn ReceiptPort>, every: Duration) -> (AckBatcher, AckFlusher) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (
        AckBatcher { tx },
        AckFlusher {
            rx,
            receipts,
            every: every.max(Duration::from_millis(1)),
        },
    )
}

impl AckBatcher {
    /// Queues an ack; false when it was dropped because the node is behind.
    pub fn ack(&self, caller: &Caller, conversation_id: &str, seq: u64) -> bool {
        let ack = Ack {
            caller: caller.clone(),
            conversation_id: conversation_id.to_owned(),
            seq,
        };
        let queued = self.tx.try_send(ack).is_ok();
        if !queued {
            ::metrics::counter!(metrics::ACKS_DROPPED).increment(1);
        }
        queued
    }
}

/// Pending marks by device: the caller and, per conversation, the highest seq.
type Pending = HashMap<(String, String), (Caller, BTreeMap<String, u64>)>;

impl AckFlusher {
    /// Collects and flushes until `stop`, then flushes what is left.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut pending = Pending::new();
        let mut tick = tokio::time::interval(self.every);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                next = self.rx.recv() => match next {
                    Some(ack) => add(&mut pending, ack),
                    None => break,
                },
                _ = tick.tick() => self.flush(std::mem::take(&mut pending)).await,
            }
        }
        while let Ok(ack) = self.rx.try_recv() {
            add(&mut pending, ack);
        }
        self.flush(pending).await;
    }

    async fn flush(&self, pending: Pending) {
        if pending.is_empty() {
            return;
        }
        let calls = pending.into_values().flat_map(|(caller, marks)| {
            let marks: Vec<(String, u64)> = marks.into_iter().collect();
            marks
                .chunks(MAX_MARKS_PER_CALL)
                .map(|chunk| (caller.clone(), chunk.to_vec()))
                .collect::<Vec<_>>()
        });
        futures::stream::iter(calls)
            .for_each_concurrent(CONCURRENCY, |(caller, marks)| async move {
                let count = marks.len() as u64;
                match self.receipts.mark_delivered(&caller, marks).await {
                    Ok(()) => ::metrics::counter!(metrics::ACKS_FLUSHED).increment(count),
                    Err(err) => {
                        ::metrics::counter!(metrics::ACKS_DROPPED).increment(count);
                        tracing::debug!(error = %err, "delivery marks not recorded");
                    }
                }
            })
            .await;
    }
}

fn add(pending: &mut Pending, ack: Ack) {
    let key = (ack.caller.user_id.clone(), ack.caller.device_id.clone());
    let (_, marks) = pending
        .entry(key)
        .or_insert_with(|| (ack.caller, BTreeMap::new()));
    let mark = marks.entry(ack.conversation_id).or_insert(0);
    *mark = (*mark).max(ack.seq);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(device: &str) -> Caller {
        Caller {
            user_id: "u".into(),
            session_id: "s".into(),
            device_id: device.into(),
        }
    }

    #[test]
    fn only_the_highest_seq_per_device_and_conversation_is_kept() {
        let mut pending = Pending::new();
        for (device, conversation, seq) in [
            ("phone", "c1", 5),
            ("phone", "c1", 3),
            ("phone", "c1", 9),
            ("phone", "c2", 1),
            ("laptop", "c1", 2),
        ] {
            add(
                &mut pending,
                Ack {
                    caller: caller(device),
                    conversation_id: conversation.into(),
                    seq,
                },
            );
        }
        let phone = &pending[&("u".to_owned(), "phone".to_owned())].1;
        assert_eq!(phone, &BTreeMap::from([("c1".into(), 9), ("c2".into(), 1)]));
        let laptop = &pending[&("u".to_owned(), "laptop".to_owned())].1;
        assert_eq!(laptop, &BTreeMap::from([("c1".into(), 2)]));
    }
}
