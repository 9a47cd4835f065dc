//! The writer half of a connection: drains the outbound queues to the
//! socket (reliable frames before ephemeral ones), and closes the socket with
//! the first close reason anyone gave.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::SinkExt;
use futures::stream::SplitSink;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::metrics;
use crate::protocol::close;
use crate::queue::Inbound;

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
/// too slow) and sends the close frame.
pub async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut inbound: Inbound,
    closer: Closer,
) {
    loop {
        let next = tokio::select! {
            biased;
            () = closer.token().cancelled() => break,
            Some(text) = inbound.messages.recv() => {
                // Sampled per reliable write: how far behind this client is.
                ::metrics::histogram!(metrics::SEND_QUEUE_DEPTH).record(inbound.messages.len() as f64);
                text
            }
            Some(text) = inbound.ephemeral.recv() => text,
            else => break,
        };
        if !send(&mut sink, next).await {
            closer.close(close::RESUME_LATER, "client not reading: resume later");
            break;
        }
    }
    let (code, reason) = closer.reason();
    if code != close::RESUME_LATER {
        while let Ok(text) = inbound.messages.try_recv() {
            if !send(&mut sink, text).await {
                break;
            }
        }
    }
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.close()).await;
}

async fn send(sink: &mut SplitSink<WebSocket, Message>, text: String) -> bool {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => {
            ::metrics::counter!(metrics::FRAMES_OUT).increment(1);
            true
        }
        _ => false,
    }
}
