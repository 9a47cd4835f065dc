//! The connection registry: which gateway nodes hold a connection of which
//! user, kept in the cache port (Redis in production) so the fan-out can
//! send each message only to the nodes that need it — no node receives the
//! whole platform's traffic.
//!
//! Per user, an expiring set of node ids (`gw:user:<user_id>`); a node
//! refreshes its entries while it holds connections, so a node that dies
//! disappears from every set within the TTL. Deliveries reach a node on its
//! own pub/sub channel (`gw:node:<node_id>`).

use std::collections::BTreeMap;
use std::time::Duration;

use chatflow_cache::{CacheError, CacheRef};
use serde::{Deserialize, Serialize};

/// The registry as seen by one node; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    cache: CacheRef,
    node_id: String,
    ttl: Duration,
}

/// What a node receives on its channel: one message for some of its users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeDelivery {
    /// Where.
    pub conversation_id: String,
    /// The message's place in the conversation.
    pub seq: u64,
    /// The users (with a connection on this node) to deliver to.
    pub recipients: Vec<String>,
    /// The message as clients see it.
    pub message: serde_json::Value,
}

/// A receipt change for some of a node's users; each connection decides
/// what its user may see of it (see [`crate::delivery`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptDelivery {
    /// The users (with a connection on this node) to deliver to.
    pub recipients: Vec<String>,
    /// The change, with the read mark always present.
    pub update: crate::protocol::ReceiptUpdate,
    /// Whether the member whose marks moved shares read receipts.
    pub read_shared: bool,
}

/// Everything a node can receive on its channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeFrame {
    /// A message, for the delivery tasks (ordered, gap-checked).
    Message(NodeDelivery),
    /// A receipt change.
    Receipt(ReceiptDelivery),
    /// A user turned read receipts on or off: their connections adjust
    /// what they show of others' read marks.
    ReadsShared {
        /// The user.
        user_id: String,
        /// The new setting.
        reads_shared: bool,
    },
    /// An ephemeral server frame (typing), straight to the connections'
    /// ephemeral queues; dropped wherever there is no room.
    Ephemeral {
        /// The users to deliver to.
        recipients: Vec<String>,
        /// The encoded server frame.
        frame: String,
    },
}

/// [`NodeFrame::Message`] borrowing its delivery (the same JSON).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum MessageRef<'a> {
    Message(&'a NodeDelivery),
}

/// The cache key of a user's set of nodes.
pub fn user_key(user_id: &str) -> String {
    format!("gw:user:{user_id}")
}

/// The pub/sub channel of a node.
pub fn node_channel(node_id: &str) -> String {
    format!("gw:node:{node_id}")
}

impl Registry {
    /// The registry for node `node_id`, whose entries live `ttl` unless refreshed.
    pub fn new(cache: CacheRef, node_id: String, ttl: Duration) -> Self {
        Self {
            cache,
            node_id,
            ttl,
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The cache the registry lives in.
    pub fn cache(&self) -> &CacheRef {
        &self.cache
    }

    /// How long an entry lives without a refresh.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Records (or refreshes) that this node holds a connection of `user_id`.
    pub async fn register(&self, user_id: &str) -> Result<(), CacheError> {
        self.cache
            .expiring_set_add(&user_key(user_id), self.node_id.as_bytes(), self.ttl)
            .await
            .map(|_| ())
    }

    /// Records that this node no longer holds any connection of `user_id`.
    pub async fn unregister(&self, user_id: &str) -> Result<(), CacheError> {
        self.cache
            .expiring_set_remove(&user_key(user_id), self.node_id.as_bytes())
            .await
            .map(|_| ())
    }

    /// The nodes holding a connection of `user_id` now.
    pub async fn nodes_of(&self, user_id: &str) -> Result<Vec<String>, CacheError> {
        let members = self.cache.expiring_set_members(&user_key(user_id)).await?;
        Ok(members
            .iter()
            .filter_map(|m| std::str::from_utf8(m).ok().map(str::to_owned))
            .collect())
    }

    /// Sends `delivery` to node `node_id` (at most once; see [`crate::hub`]
    /// for how a node recovers from a missed one).
    pub async fn deliver(&self, node_id: &str, delivery: &NodeDelivery) -> Result<(), CacheError> {
        // Encoded from a borrow: the message is not copied per node.
        self.publish(node_id, &MessageRef::Message(delivery)).await
    }

    /// Sends any frame to node `node_id` (at most once).
    pub async fn send(&self, node_id: &str, frame: &NodeFrame) -> Result<(), CacheError> {
        self.publish(node_id, frame).await
    }

    async fn publish<T: Serialize>(&self, node_id: &str, frame: &T) -> Result<(), CacheError> {
        let payload = serde_json::to_vec(frame)
            .map_err(|e| CacheError::Internal(format!("cannot encode delivery: {e}")))?;
        self.cache.publish(&node_channel(node_id), &payload).await
    }

    /// The nodes of each of `users`, grouped: node id → its users; and the
    /// users with no connection anywhere. Lookups run concurrently (Redis
    /// pipelines them on one connection).
    pub async fn locate(&self, users: Vec<String>) -> Result<Located, CacheError> {
        let lookups = users.iter().map(|user| self.nodes_of(user));
        let nodes = futures::future::try_join_all(lookups).await?;
        let mut located = Located::default();
        for (user, nodes) in users.into_iter().zip(nodes) {
            if nodes.is_empty() {
                located.offline.push(user);
                continue;
            }
            for node in nodes {
                located.by_node.entry(node).or_default().push(user.clone());
            }
        }
        Ok(located)
    }
}

/// Where some users are connected (see [`Registry::locate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Located {
    /// Node id → the users connected to it.
    pub by_node: BTreeMap<String, Vec<String>>,
    /// Users with no connection on any node.
    pub offline: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_message_frame_decodes_as_the_owned_one() {
        let delivery = NodeDelivery {
            conversation_id: "g_1".into(),
            seq: 4,
            recipients: vec!["u1".into()],
            message: serde_json::json!({"seq": 4, "text": "hi"}),
        };
        let encoded = serde_json::to_vec(&MessageRef::Message(&delivery)).unwrap();
        let decoded: NodeFrame = serde_json::from_slice(&encoded).unwrap();
        assert_eq!(decoded, NodeFrame::Message(delivery));
    }
}
