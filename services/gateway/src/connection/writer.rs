//! The writer half of a connection: drains the outbound queues to the
//! socket in batches (reliable frames before ephemeral ones, one flush per
//! batch), and closes the socket with the first close reason anyone gave.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::SinkExt;
use futures::stream::SplitSink;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::metrics;
use crate::protocol::close;
use crate::queue::{Batch, Frame, Inbound};

/// Longest a single socket write may take before the client counts as too
/// slow (a full TCP window that does not move).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why and how a connection ends; the first reason given wins.
#[derive(Clone, Default)]
pub struct Closer {
    token: CancellationToken,
    reason: Arc<Mutex<Option<(u16, String)>>>,
}

impl Closer {
    /// Asks for the connection to close with `code`, unless it is closing
    /// already: the first reason wins, and a token cancelled without one
    /// (a queue overflow) means "resume later".
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        {
            let mut slot = self.reason.lock();
            if slot.is_none() && !self.token.is_cancelled() {
                *slot = Some((code, reason.into()));
            }
        }
        self.token.cancel();
    }

    /// Cancelled once any reason is given.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// The reason, defaulting to "resume later" for a queue overflow (which
    /// cancels the token without a reason).
    pub fn reason(&self) -> (u16, String) {
        self.reason
            .lock()
            .clone()
            .unwrap_or((close::RESUME_LATER, "send queue full: resume later".into()))
    }
}

/// Writes until closed, then flushes what is queued (unless the client was
/// too slow) and sends the close frame. Everything queued is fed to the
/// socket as one batch and flushed once, so a burst costs one write, not
/// one per frame.
pub async fn write_loop(mut sink: SplitSink<WebSocket, Message>, inbound: Inbound, closer: Closer) {
    loop {
        tokio::select! {
            biased;
            () = closer.token().cancelled() => break,
            () = inbound.ready() => {}
        }
        let Batch {
            messages,
            ephemeral,
        } = inbound.take();
        if !messages.is_empty() {
            // Sampled per batch: how far behind this client is.
            ::metrics::histogram!(metrics::SEND_QUEUE_DEPTH).record(messages.len() as f64);
        }
        if !send(&mut sink, messages.into_iter().chain(ephemeral)).await {
            closer.close(close::RESUME_LATER, "client not reading: resume later");
            break;
        }
    }
    let (code, reason) = closer.reason();
    if code != close::RESUME_LATER {
        let _ = send(&mut sink, inbound.take_messages().into_iter()).await;
    }
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.close()).await;
}

/// Feeds `frames` and flushes once; false when the client does not read.
async fn send(
    sink: &mut SplitSink<WebSocket, Message>,
    frames: impl Iterator<Item = Frame>,
) -> bool {
    let mut count = 0u64;
    let write = async {
        for frame in frames {
            sink.feed(Message::Text(frame)).await?;
            count += 1;
        }
        sink.flush().await
    };
    let written = tokio::time::timeout(WRITE_TIMEOUT, write).await;
    match written {
        Ok(Ok(())) => {
            ::metrics::counter!(metrics::FRAMES_OUT).increment(count);
            true
        }
        _ => false,
    }
}
