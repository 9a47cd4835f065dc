//! Local fan-out of channel messages to subscriber streams, shared by both
//! backends: the in-process bus is a [`Fanout`]; Redis feeds one [`Fanout`]
//! per pub/sub connection.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use parking_lot::Mutex;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::{CacheError, SUBSCRIBER_BUFFER};

/// What a subscriber receives: a payload, or the reason its stream ends.
pub(crate) type Message = Result<Bytes, CacheError>;

/// One broadcast channel per subscribed channel name.
#[derive(Default)]
pub(crate) struct Fanout {
    channels: Mutex<HashMap<String, broadcast::Sender<Message>>>,
}

impl Fanout {
    /// A receiver for `channel`, and whether the channel had no local subscriber yet.
    pub(crate) fn subscribe(&self, channel: &str) -> (broadcast::Receiver<Message>, bool) {
        let mut channels = self.channels.lock();
        if let Some(sender) = channels.get(channel) {
            return (sender.subscribe(), false);
        }
        let (sender, receiver) = broadcast::channel(SUBSCRIBER_BUFFER);
        channels.insert(channel.to_owned(), sender);
        (receiver, true)
    }

    /// Hands `payload` to the local subscribers of `channel`, if any.
    pub(crate) fn deliver(&self, channel: &str, payload: Bytes) {
        if let Some(sender) = self.channels.lock().get(channel) {
            // No receiver left is fine: the last one is being released.
            let _ = sender.send(Ok(payload));
        }
    }

    /// Forgets `channel` once no subscriber is left; true if it was forgotten.
    pub(crate) fn release(&self, channel: &str) -> bool {
        let mut channels = self.channels.lock();
        let unused = channels
            .get(channel)
            .is_some_and(|sender| sender.receiver_count() == 0);
        if unused {
            channels.remove(channel);
        }
        unused
    }

    /// Sends `err` to every subscriber, then ends every stream.
    pub(crate) fn fail_all(&self, err: &CacheError) {
        for (_, sender) in self.channels.lock().drain() {
            let _ = sender.send(Err(err.clone()));
        }
    }
}

/// A subscriber's stream; runs its release hook when dropped.
pub(crate) struct Subscription {
    receiver: Option<BroadcastStream<Message>>,
    on_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl Subscription {
    /// Wraps `receiver`; `on_drop` runs after the receiver is gone.
    pub(crate) fn new(
        receiver: broadcast::Receiver<Message>,
        on_drop: impl FnOnce() + Send + 'static,
    ) -> Self {
        Self {
            receiver: Some(BroadcastStream::new(receiver)),
            on_drop: Some(Box::new(on_drop)),
        }
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let Some(receiver) = self.receiver.as_mut() else {
            return Poll::Ready(None);
        };
        Pin::new(receiver).poll_next(cx).map(|item| {
            item.map(|received| match received {
                Ok(message) => message,
                Err(BroadcastStreamRecvError::Lagged(skipped)) => Err(CacheError::Lagged(skipped)),
            })
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Drop the receiver first so the hook sees an accurate receiver count.
        self.receiver.take();
        if let Some(on_drop) = self.on_drop.take() {
            on_drop();
        }
    }
}
