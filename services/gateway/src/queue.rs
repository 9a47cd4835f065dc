//! Per-connection outbound queues and the slow-consumer policy.
//!
//! Each connection has two bounded queues drained by its writer task:
//! `messages` (messages, acks, errors — never dropped) and `ephemeral`
//! (presence, typing — droppable). Nothing ever waits on a queue, so one
//! slow client can never slow another. The policy, in order:
//! 1. an ephemeral event is dropped when its queue is full, or when the
//!    message queue is past its high-water mark (messages go first);
//! 2. when the message queue itself is full the connection is marked
//!    "resume later": it is closed with code 4008 and the client resumes
//!    from its last `seq`, losing nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use crate::metrics;

/// Capacities of one connection's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Reliable frames buffered before the client is told to resume later.
    pub messages: usize,
    /// Ephemeral frames buffered before new ones are dropped.
    pub ephemeral: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            messages: 1024,
            ephemeral: 256,
        }
    }
}

/// The sending half, shared by everything that writes to one connection.
#[derive(Clone)]
pub struct Outbound {
    messages: mpsc::Sender<String>,
    ephemeral: mpsc::Sender<String>,
    high_water: usize,
    slow: Arc<AtomicBool>,
    closed: CancellationToken,
}

/// The receiving half, owned by the connection's writer task.
pub struct Inbound {
    /// Reliable frames, in order.
    pub messages: mpsc::Receiver<String>,
    /// Droppable frames.
    pub ephemeral: mpsc::Receiver<String>,
}

/// What became of a reliable frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued for the writer.
    Queued,
    /// The queue was full: the connection is closing with "resume later".
    SlowConsumer,
    /// The connection is already closed.
    Closed,
}

/// A connected pair of queues; `closed` is cancelled when the connection
/// must close because its client is too slow.
pub fn channel(limits: QueueLimits, closed: CancellationToken) -> (Outbound, Inbound) {
    let (messages, messages_rx) = mpsc::channel(limits.messages.max(1));
    let (ephemeral, ephemeral_rx) = mpsc::channel(limits.ephemeral.max(1));
    let outbound = Outbound {
        messages,
        ephemeral,
        high_water: (limits.messages / 2).max(1),
        slow: Arc::default(),
        closed,
    };
    let inbound = Inbound {
        messages: messages_rx,
        ephemeral: ephemeral_rx,
    };
    (outbound, inbound)
}

impl Outbound {
    /// Queues a reliable frame without waiting.
    pub fn push(&self, frame: String) -> Pushed {
        match self.messages.try_send(frame) {
            Ok(()) => Pushed::Queued,
            Err(TrySendError::Full(_)) => {
                if !self.slow.swap(true, Ordering::SeqCst) {
                    ::metrics::counter!(metrics::SLOW_CONSUMERS).increment(1);
                    tracing::info!("slow consumer: closing with resume-later");
                }
                self.closed.cancel();
                Pushed::SlowConsumer
            }
            Err(TrySendError::Closed(_)) => Pushed::Closed,
        }
    }

    /// Queues an ephemeral frame if there is room; false when dropped.
    pub fn push_ephemeral(&self, frame: String) -> bool {
        let backlog = self.messages.max_capacity() - self.messages.capacity();
        if backlog >= self.high_water {
            ::metrics::counter!(metrics::EPHEMERAL_DROPPED).increment(1);
            return false;
        }
        let queued = self.ephemeral.try_send(frame).is_ok();
        if !queued {
            ::metrics::counter!(metrics::EPHEMERAL_DROPPED).increment(1);
        }
        queued
    }

    /// Whether the connection was closed for reading too slowly.
    pub fn is_slow(&self) -> bool {
        self.slow.load(Ordering::SeqCst)
    }

    /// Reliable frames waiting for the writer.
    pub fn backlog(&self) -> usize {
        self.messages.max_capacity() - self.messages.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> (Outbound, Inbound, CancellationToken) {
        let closed = CancellationToken::new();
        let limits = QueueLimits {
            messages: 4,
            ephemeral: 2,
        };
        let (out, inb) = channel(limits, closed.clone());
        (out, inb, closed)
    }

    #[test]
    fn a_full_message_queue_closes_the_connection_with_resume_later() {
        let (out, mut inb, closed) = small();
        for i in 0..4 {
            assert_eq!(out.push(format!("m{i}")), Pushed::Queued);
        }
        assert!(!closed.is_cancelled());
        assert_eq!(out.push("m4".into()), Pushed::SlowConsumer);
        assert!(closed.is_cancelled() && out.is_slow());
        // Everything queued before stays in order for the writer to flush.
        let drained: Vec<String> = std::iter::from_fn(|| inb.messages.try_recv().ok()).collect();
        assert_eq!(drained, ["m0", "m1", "m2", "m3"]);
    }

    #[test]
    fn ephemeral_frames_are_dropped_first_and_never_displace_messages() {
        let (out, mut inb, closed) = small();
        assert!(out.push_ephemeral("typing-1".into()));
        assert!(out.push_ephemeral("typing-2".into()));
        assert!(
            !out.push_ephemeral("typing-3".into()),
            "ephemeral queue full: dropped"
        );
        // Past the high-water mark of the message queue, ephemeral is refused
        // even though its own queue has room again.
        let _ = inb.ephemeral.try_recv();
        out.push("m0".into());
        out.push("m1".into());
        assert!(!out.push_ephemeral("presence".into()));
        assert!(!closed.is_cancelled(), "dropping ephemeral never closes");
        assert_eq!(out.backlog(), 2);
    }
}
