//! Per-connection outbound queues and the slow-consumer policy.
//!
//! Each connection has two bounded queues drained by its writer:
//! `messages` (messages, acks, errors — never dropped) and `ephemeral`
//! (presence, typing — droppable). Nothing ever waits on a queue, so one
//! slow client can never slow another. The policy, in order:
//! 1. an ephemeral event is dropped when its queue is full, or when the
//!    message queue is past its high-water mark (messages go first);
//! 2. when the message queue itself is full the connection is marked
//!    "resume later": it is closed with code 4008 and the client resumes
//!    from its last `seq`, losing nothing.
//!
//! Frames are encoded once ([`Frame`] shares its bytes), so a message for
//! many connections is queued on each without a copy. The queues are plain
//! deques allocated only while frames wait: an idle connection holds none.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics;

/// One encoded server frame; cloning shares the bytes.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// Encodes a server frame once, for any number of queues.
pub fn encode<T: Serialize + ?Sized>(frame: &T) -> Option<Frame> {
    serde_json::to_string(frame).ok().map(Frame::from)
}

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
    inner: Arc<Inner>,
}

/// The receiving half, owned by the connection's writer.
pub struct Inbound {
    inner: Arc<Inner>,
}

struct Inner {
    queues: Mutex<Queues>,
    /// Woken when a frame is queued.
    ready: Notify,
    limits: QueueLimits,
    slow: AtomicBool,
    closed: CancellationToken,
}

#[derive(Default)]
struct Queues {
    messages: VecDeque<Frame>,
    ephemeral: VecDeque<Frame>,
    /// The writer is gone: nothing will be sent any more.
    gone: bool,
}

/// What a writer takes in one go: reliable frames first, then ephemeral.
#[derive(Default)]
pub struct Batch {
    /// Reliable frames, in order.
    pub messages: VecDeque<Frame>,
    /// Droppable frames.
    pub ephemeral: VecDeque<Frame>,
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
    let limits = QueueLimits {
        messages: limits.messages.max(1),
        ephemeral: limits.ephemeral.max(1),
    };
    let inner = Arc::new(Inner {
        queues: Mutex::default(),
        ready: Notify::new(),
        limits,
        slow: AtomicBool::new(false),
        closed,
    });
    (
        Outbound {
            inner: inner.clone(),
        },
        Inbound { inner },
    )
}

impl Outbound {
    /// Queues a reliable frame without waiting.
    pub fn push(&self, frame: Frame) -> Pushed {
        {
            let mut queues = self.inner.queues.lock();
            if queues.gone {
                return Pushed::Closed;
            }
            if queues.messages.len() < self.inner.limits.messages {
                queues.messages.push_back(frame);
                drop(queues);
                self.inner.ready.notify_one();
                return Pushed::Queued;
            }
        }
        if !self.inner.slow.swap(true, Ordering::SeqCst) {
            ::metrics::counter!(metrics::SLOW_CONSUMERS).increment(1);
            tracing::info!("slow consumer: closing with resume-later");
        }
        self.inner.closed.cancel();
        Pushed::SlowConsumer
    }

    /// Encodes and queues a reliable frame.
    pub fn push_frame<T: Serialize + ?Sized>(&self, frame: &T) -> Pushed {
        match encode(frame) {
            Some(frame) => self.push(frame),
            None => Pushed::Closed,
        }
    }

    /// Queues an ephemeral frame if there is room; false when dropped.
    pub fn push_ephemeral(&self, frame: Frame) -> bool {
        let queued = {
            let mut queues = self.inner.queues.lock();
            let room = queues.messages.len() < self.high_water()
                && queues.ephemeral.len() < self.inner.limits.ephemeral;
            if room && !queues.gone {
                queues.ephemeral.push_back(frame);
            }
            room
        };
        if queued {
            self.inner.ready.notify_one();
        } else {
            ::metrics::counter!(metrics::EPHEMERAL_DROPPED).increment(1);
        }
        queued
    }

    fn high_water(&self) -> usize {
        (self.inner.limits.messages / 2).max(1)
    }

    /// Whether the connection was closed for reading too slowly.
    pub fn is_slow(&self) -> bool {
        self.inner.slow.load(Ordering::SeqCst)
    }

    /// Reliable frames waiting for the writer.
    pub fn backlog(&self) -> usize {
        self.inner.queues.lock().messages.len()
    }
}

impl Inbound {
    /// Waits until something is queued (returns at once if it already is).
    pub async fn ready(&self) {
        self.inner.ready.notified().await;
    }

    /// Takes everything queued; the queues' memory goes with it, so a
    /// connection that went quiet holds none.
    pub fn take(&self) -> Batch {
        let mut queues = self.inner.queues.lock();
        Batch {
            messages: std::mem::take(&mut queues.messages),
            ephemeral: std::mem::take(&mut queues.ephemeral),
        }
    }

    /// Takes the reliable frames only (the last flush before closing).
    pub fn take_messages(&self) -> VecDeque<Frame> {
        std::mem::take(&mut self.inner.queues.lock().messages)
    }
}

impl Drop for Inbound {
    fn drop(&mut self) {
        let mut queues = self.inner.queues.lock();
        queues.gone = true;
        queues.messages = VecDeque::new();
        queues.ephemeral = VecDeque::new();
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

    fn frame(text: &str) -> Frame {
        Frame::from(text)
    }

    #[test]
    fn a_full_message_queue_closes_the_connection_with_resume_later() {
        let (out, inb, closed) = small();
        for i in 0..4 {
            assert_eq!(out.push(frame(&format!("m{i}"))), Pushed::Queued);
        }
        assert!(!closed.is_cancelled());
        assert_eq!(out.push(frame("m4")), Pushed::SlowConsumer);
        assert!(closed.is_cancelled() && out.is_slow());
        // Everything queued before stays in order for the writer to flush.
        let drained: Vec<String> = inb.take().messages.iter().map(|f| f.to_string()).collect();
        assert_eq!(drained, ["m0", "m1", "m2", "m3"]);
    }

    #[test]
    fn ephemeral_frames_are_dropped_first_and_never_displace_messages() {
        let (out, inb, closed) = small();
        assert!(out.push_ephemeral(frame("typing-1")));
        assert!(out.push_ephemeral(frame("typing-2")));
        assert!(
            !out.push_ephemeral(frame("typing-3")),
            "ephemeral queue full: dropped"
        );
        // Past the high-water mark of the message queue, ephemeral is refused
        // even though its own queue has room again.
        let _ = inb.take();
        out.push(frame("m0"));
        out.push(frame("m1"));
        assert!(!out.push_ephemeral(frame("presence")));
        assert!(!closed.is_cancelled(), "dropping ephemeral never closes");
        assert_eq!(out.backlog(), 2);
    }

    #[test]
    fn one_encoded_frame_is_shared_not_copied_and_a_gone_writer_refuses() {
        let (a, a_in, _) = small();
        let (b, b_in, _) = small();
        let shared = encode(&serde_json::json!({"type": "message"})).unwrap();
        a.push(shared.clone());
        b.push(shared.clone());
        let (x, y) = (a_in.take().messages, b_in.take().messages);
        assert_eq!(x[0].as_str().as_ptr(), y[0].as_str().as_ptr());
        drop(a_in);
        assert_eq!(a.push(shared), Pushed::Closed);
    }
}
