//! The node's local side of fan-out: which connections on this node belong
//! to which user, and the loop that takes deliveries off the node's channel
//! and hands them to those connections.
//!
//! Pub/sub is at most once. A delivery that was missed shows up as a gap
//! (the next message's `seq` skips) and the connection fills it from the
//! message store; when the subscription itself reports lag or loss, every
//! local connection is told to resynchronise all its conversations.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::connection::Conn;
use crate::protocol::MessageFrame;
use crate::queue::{self, Frame};
use crate::registry::{NodeDelivery, NodeFrame, ReceiptDelivery, Registry, node_channel};

/// What the hub tells one connection's delivery.
#[derive(Debug, Clone)]
pub enum Live {
    /// A new message of one of the user's conversations.
    Message(Arc<LiveMessage>),
    /// A member's receipt marks moved in one of the user's conversations.
    Receipt(Arc<ReceiptDelivery>),
    /// The user turned read receipts on or off.
    ReadsShared(bool),
    /// Deliveries may have been lost: re-read every followed conversation.
    Resync,
}

/// A message for local connections, its `message` frame encoded once for
/// all of them.
#[derive(Debug)]
pub struct LiveMessage {
    /// Where.
    pub conversation_id: String,
    /// Its place in the conversation.
    pub seq: u64,
    /// The encoded frame, shared by every recipient's queue.
    pub frame: Frame,
}

/// One connection as the hub knows it.
#[derive(Clone)]
struct Entry {
    id: u64,
    conn: Arc<Conn>,
}

/// Local connections by user id; cheap to clone.
#[derive(Clone, Default)]
pub struct Hub {
    users: Arc<Mutex<HashMap<String, Vec<Entry>>>>,
    next_id: Arc<AtomicU64>,
}

/// Removes its connection from the hub when dropped.
pub struct HubSlot {
    hub: Hub,
    user_id: String,
    id: u64,
}

impl Hub {
    /// Adds a connection of `user_id`; returns its guard and whether it is
    /// the user's first connection on this node (to register it).
    pub(crate) fn join(&self, conn: Arc<Conn>) -> (HubSlot, bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let user_id = conn.caller.user_id.clone();
        let mut users = self.users.lock();
        let entries = users.entry(user_id.clone()).or_default();
        let first = entries.is_empty();
        entries.push(Entry { id, conn });
        let guard = HubSlot {
            hub: self.clone(),
            user_id,
            id,
        };
        (guard, first)
    }

    /// Every local connection, by user (for the revocation sweep).
    pub(crate) fn by_user(&self) -> Vec<(String, Vec<Arc<Conn>>)> {
        self.users
            .lock()
            .iter()
            .map(|(user, entries)| {
                (
                    user.clone(),
                    entries.iter().map(|e| e.conn.clone()).collect(),
                )
            })
            .collect()
    }

    /// Users with at least one connection here.
    pub fn users(&self) -> Vec<String> {
        self.users.lock().keys().cloned().collect()
    }

    /// Connections on this node.
    pub fn connections(&self) -> usize {
        self.users.lock().values().map(Vec::len).sum()
    }

    /// Hands `delivery` to every local connection of its recipients.
    pub fn dispatch(&self, delivery: NodeDelivery) {
        let frame = MessageFrame {
            message: &delivery.message,
        };
        let Some(frame) = queue::encode(&frame) else {
            return;
        };
        let message = Arc::new(LiveMessage {
            conversation_id: delivery.conversation_id,
            seq: delivery.seq,
            frame,
        });
        let users = self.users.lock();
        for user in &delivery.recipients {
            for entry in users.get(user).into_iter().flatten() {
                offer(entry, Live::Message(message.clone()));
            }
        }
    }

    /// Hands whatever arrived on the node channel to the right connections.
    pub fn dispatch_frame(&self, frame: NodeFrame) {
        match frame {
            NodeFrame::Message(delivery) => self.dispatch(delivery),
            NodeFrame::Receipt(receipt) => {
                let receipt = Arc::new(receipt);
                let users = self.users.lock();
                for user in &receipt.recipients {
                    for entry in users.get(user).into_iter().flatten() {
                        offer(entry, Live::Receipt(receipt.clone()));
                    }
                }
            }
            NodeFrame::ReadsShared {
                user_id,
                reads_shared,
            } => {
                for entry in self.users.lock().get(&user_id).into_iter().flatten() {
                    offer(entry, Live::ReadsShared(reads_shared));
                }
            }
            NodeFrame::Ephemeral { recipients, frame } => {
                self.push_ephemeral(&recipients, &Frame::from(frame));
            }
        }
    }

    /// Queues an ephemeral frame on every local connection of `users`,
    /// dropping it wherever the ephemeral queue is full.
    pub fn push_ephemeral(&self, users: &[String], frame: &Frame) {
        let users_map = self.users.lock();
        for user in users {
            for entry in users_map.get(user).into_iter().flatten() {
                entry.conn.out.push_ephemeral(frame.clone());
            }
        }
    }

    /// Tells every local connection to resynchronise.
    pub fn resync_all(&self) {
        for entry in self.users.lock().values().flatten() {
            offer(entry, Live::Resync);
        }
    }

    /// Follows this node's channel until `stop`, dispatching deliveries;
    /// `subscribed` fires once the channel is first followed.
    pub async fn run(
        &self,
        registry: Registry,
        stop: CancellationToken,
        subscribed: tokio::sync::oneshot::Sender<()>,
    ) {
        let mut subscribed = Some(subscribed);
        let channel = node_channel(registry.node_id());
        let cache = registry.cache().clone();
        while !stop.is_cancelled() {
            let mut stream = match cache.subscribe(&channel).await {
                Ok(stream) => stream,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot follow the node channel; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(std::time::Duration::from_millis(500)) => continue,
                    }
                }
            };
            // Anything sent while unsubscribed was missed.
            self.resync_all();
            if let Some(ready) = subscribed.take() {
                let _ = ready.send(());
            }
            loop {
                let next = tokio::select! {
                    () = stop.cancelled() => return,
                    next = stream.next() => next,
                };
                match next {
                    Some(Ok(payload)) => match serde_json::from_slice(&payload) {
                        Ok(frame) => self.dispatch_frame(frame),
                        Err(err) => tracing::warn!(error = %err, "undecodable node delivery"),
                    },
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "node channel lost deliveries; resynchronising");
                        self.resync_all();
                        if !matches!(err, chatflow_cache::CacheError::Lagged(_)) {
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
    }

    fn leave(&self, user_id: &str, id: u64) -> bool {
        let mut users = self.users.lock();
        let Some(entries) = users.get_mut(user_id) else {
            return false;
        };
        entries.retain(|e| e.id != id);
        let last = entries.is_empty();
        if last {
            users.remove(user_id);
        }
        last
    }
}

impl HubSlot {
    /// Leaves the hub now; true if it was the user's last connection here.
    pub fn leave(self) -> bool {
        let last = self.hub.leave(&self.user_id, self.id);
        std::mem::forget(self);
        last
    }
}

impl Drop for HubSlot {
    fn drop(&mut self) {
        self.hub.leave(&self.user_id, self.id);
    }
}

/// A connection whose live queue is full cannot keep up: close it (it resumes).
fn offer(entry: &Entry, live: Live) {
    if !entry.conn.inbox.offer(live) {
        entry.conn.closer.token().cancel();
    }
}
