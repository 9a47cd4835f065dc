//! [`PubSubHub`]: every subscription of one Redis handle shares one dedicated
//! pub/sub connection, opened on first use and replaced after it is lost.
//!
//! A reader task feeds the connection's messages into a [`Fanout`] and pings
//! the server now and then, so a silently dead link is noticed too. When the
//! link is lost, each subscriber gets `Unavailable` and its stream ends
//! (messages may have been missed while nobody was listening); the next
//! `subscribe` opens a fresh link.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::Mutex;
use tokio::task::AbortHandle;

use crate::CacheError;
use crate::fanout::{Fanout, Subscription};

/// One live pub/sub connection and the local subscribers it feeds.
struct Link {
    sink: PubSubSink,
    fanout: Arc<Fanout>,
    alive: Arc<AtomicBool>,
    reader: AbortHandle,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
        self.fanout
            .fail_all(&lost("the pub/sub connection was closed"));
    }
}

/// Subscriptions of one Redis handle.
pub(super) struct PubSubHub {
    client: redis::Client,
    op_timeout: Duration,
    /// Serialises (un)subscribe round trips so SUBSCRIBE and UNSUBSCRIBE of a
    /// channel never overtake each other.
    link: Arc<Mutex<Option<Arc<Link>>>>,
}

impl PubSubHub {
    /// A hub that connects through `client` on first use.
    pub(super) fn new(client: redis::Client, op_timeout: Duration) -> Self {
        Self {
            client,
            op_timeout,
            link: Arc::default(),
        }
    }

    /// Subscribes to the server-side `channel`; active on the server when this
    /// returns. Waiting for the lock, connecting and SUBSCRIBE together take at
    /// most `op_timeout`.
    pub(super) async fn subscribe(&self, channel: String) -> Result<Subscription, CacheError> {
        let deadline = tokio::time::Instant::now() + self.op_timeout;
        let expired = || timed_out("subscribe", self.op_timeout);
        let mut current = tokio::time::timeout_at(deadline, self.link.lock())
            .await
            .map_err(|_| expired())?;
        let link = match current.as_ref().filter(|l| l.alive.load(Ordering::Acquire)) {
            Some(link) => link.clone(),
            None => {
                let link = tokio::time::timeout_at(deadline, self.open())
                    .await
                    .map_err(|_| expired())??;
                *current = Some(link.clone());
                link
            }
        };
        // Declared before the receiver, so on an early return the receiver is
        // dropped first and the release sees no subscriber left.
        let mut pending = Pending {
            fanout: &link.fanout,
            channel: &channel,
            armed: true,
        };
        let (receiver, first) = link.fanout.subscribe(&channel);
        if first {
            let mut sink = link.sink.clone();
            tokio::time::timeout_at(deadline, sink.subscribe(&channel))
                .await
                .map_err(|_| expired())??;
        }
        pending.armed = false;
        let release = release_hook(
            Arc::downgrade(&self.link),
            Arc::downgrade(&link.fanout),
            link.sink.clone(),
            channel.clone(),
            self.op_timeout,
        );
        Ok(Subscription::new(receiver, release))
    }

    async fn open(&self) -> Result<Arc<Link>, CacheError> {
        let (sink, stream) = self.client.get_async_pubsub().await?.split();
        let fanout = Arc::new(Fanout::default());
        let alive = Arc::new(AtomicBool::new(true));
        let reader = tokio::spawn(read(
            stream,
            sink.clone(),
            fanout.clone(),
            alive.clone(),
            self.op_timeout,
        ));
        tracing::debug!("redis pub/sub connection opened");
        Ok(Arc::new(Link {
            sink,
            fanout,
            alive,
            reader: reader.abort_handle(),
        }))
    }
}

/// A subscription not yet confirmed by the server. If the caller gives up
/// (error, timeout or a dropped future) its local entry is released, so the
/// next subscriber of the channel sends SUBSCRIBE again (Redis ignores a
/// repeated one).
struct Pending<'a> {
    fanout: &'a Fanout,
    channel: &'a str,
    armed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.fanout.release(self.channel);
        }
    }
}

/// How often an idle link is pinged: often enough to notice a dead link
/// quickly, rarely enough to cost nothing.
fn heartbeat(op_timeout: Duration) -> Duration {
    (op_timeout * 5).clamp(Duration::from_secs(1), Duration::from_secs(15))
}

/// Delivers messages until the connection ends or stops answering pings.
async fn read(
    mut stream: PubSubStream,
    mut sink: PubSubSink,
    fanout: Arc<Fanout>,
    alive: Arc<AtomicBool>,
    op_timeout: Duration,
) {
    let period = heartbeat(op_timeout);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let reason = loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => fanout.deliver(
                    message.get_channel_name(),
                    Bytes::copy_from_slice(message.get_payload_bytes()),
                ),
                None => break "the pub/sub connection was lost",
            },
            _ = ticks.tick() => {
                // Subscribed RESP2 connections answer ["pong", ""], not PONG.
                let pong = tokio::time::timeout(op_timeout, sink.ping::<redis::Value>()).await;
                if !matches!(pong, Ok(Ok(_))) {
                    break "the pub/sub connection stopped answering";
                }
            }
        }
    };
    alive.store(false, Ordering::Release);
    tracing::warn!(
        reason,
        "redis pub/sub link down; subscribers must resubscribe"
    );
    fanout.fail_all(&lost(reason));
}

/// Unsubscribes on the server once the last local subscriber of `channel` is gone.
fn release_hook(
    link: Weak<Mutex<Option<Arc<Link>>>>,
    fanout: Weak<Fanout>,
    mut sink: PubSubSink,
    channel: String,
    op_timeout: Duration,
) -> impl FnOnce() + Send + 'static {
    move || {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let (Some(link), Some(fanout)) = (link.upgrade(), fanout.upgrade()) else {
                return;
            };
            let _serialised = link.lock().await;
            if fanout.release(&channel) {
                // A dead link has nothing to unsubscribe from; ignore failures.
                let _ = tokio::time::timeout(op_timeout, sink.unsubscribe(&channel)).await;
            }
        });
    }
}

fn lost(reason: &str) -> CacheError {
    CacheError::Unavailable(format!("{reason}; messages may have been missed"))
}

/// The error for a call that did not finish within `op_timeout`.
pub(super) fn timed_out(op: &str, op_timeout: Duration) -> CacheError {
    CacheError::Unavailable(format!("redis {op} timed out after {op_timeout:?}"))
}
