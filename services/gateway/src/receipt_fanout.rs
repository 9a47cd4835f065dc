//! Receipt fan-out: takes each receipt change off the bus
//! (`chatflow.receipts.*`, consumer group `gateway-receipts`, apart from
//! the message fan-out so a burst of receipts never holds messages back)
//! and sends it to the nodes holding a connection of a member of the
//! conversation. Each connection then shows its user what privacy allows
//! ([`crate::delivery`]). Members with no connection get nothing: they
//! read the marks when they resume.
//!
//! Every member's marks going to every member costs members² frames per
//! message, so above `receipts_fanout_members` a change reaches only the
//! member's own devices (unread counts stay in sync); others read who
//! received and read a message from the receipts REST API when they ask.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_events::{Delivery, Handler, HandlerError};
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::receipts::v1::{ReceiptSettingsChanged, ReceiptsUpdated};
use chatflow_receipts::{SETTINGS_CHANGED_TOPIC, UPDATED_TOPIC};
use prost::Message as _;

use crate::metrics;
use crate::ports::{MemberMarks, MemberPort};
use crate::protocol::ReceiptUpdate;
use crate::registry::{NodeFrame, ReceiptDelivery, Registry};

/// The receipt topics the fan-out follows.
pub const RECEIPT_TOPICS: [&str; 2] = [UPDATED_TOPIC, SETTINGS_CHANGED_TOPIC];
/// The consumer group shared by every gateway node.
pub const RECEIPT_GROUP: &str = "gateway-receipts";

/// The receipt fan-out handler.
pub struct ReceiptFanout {
    registry: Registry,
    members: Arc<dyn MemberPort>,
    /// Larger conversations send each change to its member only.
    max_members: usize,
}

impl ReceiptFanout {
    /// A fan-out using `registry` to find nodes and `members` for
    /// membership; conversations over `max_members` tell only the member.
    pub fn new(registry: Registry, members: Arc<dyn MemberPort>, max_members: usize) -> Self {
        Self {
            registry,
            members,
            max_members,
        }
    }

    async fn updated(&self, event: ReceiptsUpdated) -> Result<(), HandlerError> {
        if event.conversation_id.is_empty() || event.user_id.is_empty() {
            return Err(HandlerError::Permanent(
                "receipt without conversation or user".into(),
            ));
        }
        let members = self
            .members
            .members(&event.conversation_id)
            .await
            .map_err(|e| HandlerError::Transient(format!("members: {e}")))?;
        let audience = if members.len() > self.max_members {
            vec![event.user_id.clone()]
        } else {
            members
        };
        let located = self.locate(audience).await?;
        let update = ReceiptUpdate {
            conversation_id: event.conversation_id,
            marks: MemberMarks {
                user_id: event.user_id,
                delivered_seq: event.delivered_seq,
                read_seq: Some(event.read_seq),
            },
            unread: Some(event.unread),
            total_unread: Some(event.total_unread),
        };
        for (node, recipients) in located {
            let frame = NodeFrame::Receipt(ReceiptDelivery {
                recipients,
                update: update.clone(),
                read_shared: event.read_shared,
            });
            self.send(&node, &frame).await?;
        }
        ::metrics::counter!(metrics::RECEIPTS_FANNED_OUT).increment(1);
        Ok(())
    }

    async fn settings(&self, event: ReceiptSettingsChanged) -> Result<(), HandlerError> {
        if event.user_id.is_empty() {
            return Err(HandlerError::Permanent("settings without a user".into()));
        }
        let located = self.locate(vec![event.user_id.clone()]).await?;
        let frame = NodeFrame::ReadsShared {
            user_id: event.user_id,
            reads_shared: event.reads_shared,
        };
        for (node, _) in located {
            self.send(&node, &frame).await?;
        }
        Ok(())
    }

    async fn locate(
        &self,
        users: Vec<String>,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>, HandlerError> {
        self.registry
            .locate(users)
            .await
            .map(|located| located.by_node)
            .map_err(|e| HandlerError::Transient(format!("registry: {e}")))
    }

    async fn send(&self, node: &str, frame: &NodeFrame) -> Result<(), HandlerError> {
        self.registry
            .send(node, frame)
            .await
            .map_err(|e| HandlerError::Transient(format!("node {node}: {e}")))
    }
}

#[async_trait]
impl Handler for ReceiptFanout {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let envelope = EventEnvelope::decode(delivery.payload.as_ref())
            .map_err(|e| HandlerError::Permanent(format!("not an event envelope: {e}")))?;
        let data = envelope.data.as_slice();
        match delivery.topic.as_str() {
            UPDATED_TOPIC => {
                let event = ReceiptsUpdated::decode(data)
                    .map_err(|e| HandlerError::Permanent(format!("not a receipt: {e}")))?;
                self.updated(event).await
            }
            SETTINGS_CHANGED_TOPIC => {
                let event = ReceiptSettingsChanged::decode(data)
                    .map_err(|e| HandlerError::Permanent(format!("not a settings change: {e}")))?;
                self.settings(event).await
            }
            other => Err(HandlerError::Permanent(format!("unexpected topic {other}"))),
        }
    }
}
