//! Fan-out: takes each stored message off the bus (`chatflow.messages.*`,
//! consumer group `gateway-fanout`, so each is handled once across all
//! gateway nodes) and sends it to exactly the nodes holding a connection of
//! a member, found in the connection registry. Members with no connection
//! become one `chatflow.messages.undelivered` event for the notification
//! service. At least once: a record is committed only after every node was
//! sent its copy; nodes drop duplicates by `seq`.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_events::{Delivery, EventBusRef, Handler, HandlerError, OutgoingRecord};
use chatflow_outbox::EventHeaders;
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::gateway::v1::MessagesUndelivered;
use chatflow_proto::messages::v1 as pb;
use prost::Message as _;

use crate::convert::{kind_name, message_json};
use crate::metrics;
use crate::ports::MemberPort;
use crate::registry::{NodeDelivery, Registry};

/// The router's topics the fan-out follows.
pub const MESSAGE_TOPICS: [&str; 4] = [
    "chatflow.messages.created",
    "chatflow.messages.edited",
    "chatflow.messages.deleted",
    "chatflow.messages.reacted",
];
/// Where members without a connection are announced.
pub const UNDELIVERED_TOPIC: &str = "chatflow.messages.undelivered";
/// The consumer group shared by every gateway node.
pub const FANOUT_GROUP: &str = "gateway-fanout";

/// The fan-out handler.
pub struct Fanout {
    registry: Registry,
    members: Arc<dyn MemberPort>,
    bus: EventBusRef,
}

impl Fanout {
    /// A fan-out using `registry` to find nodes and `members` for membership.
    pub fn new(registry: Registry, members: Arc<dyn MemberPort>, bus: EventBusRef) -> Self {
        Self {
            registry,
            members,
            bus,
        }
    }

    /// Sends `message` to the nodes of its members; returns the members
    /// with no connection anywhere.
    pub async fn fan_out(&self, message: &pb::Message) -> Result<Vec<String>, HandlerError> {
        let members = self
            .members
            .members(&message.conversation_id)
            .await
            .map_err(|e| HandlerError::Transient(format!("members: {e}")))?;
        let located = self
            .registry
            .locate(members)
            .await
            .map_err(|e| HandlerError::Transient(format!("registry: {e}")))?;
        let json = message_json(message);
        for (node, recipients) in located.by_node {
            let delivery = NodeDelivery {
                conversation_id: message.conversation_id.clone(),
                seq: message.seq,
                recipients,
                message: json.clone(),
            };
            self.registry
                .deliver(&node, &delivery)
                .await
                .map_err(|e| HandlerError::Transient(format!("node {node}: {e}")))?;
        }
        ::metrics::counter!(metrics::FANOUT, "outcome" => "delivered").increment(1);
        Ok(located.offline)
    }

    async fn announce_undelivered(
        &self,
        message: &pb::Message,
        offline: Vec<String>,
    ) -> Result<(), HandlerError> {
        let user_ids: Vec<String> = offline
            .into_iter()
            .filter(|u| *u != message.sender_id)
            .collect();
        if user_ids.is_empty() {
            return Ok(());
        }
        let event = MessagesUndelivered {
            conversation_id: message.conversation_id.clone(),
            seq: message.seq,
            kind: kind_name(message.kind).to_owned(),
            sender_id: message.sender_id.clone(),
            user_ids,
            server_ts_ms: message.server_ts_ms,
        };
        let envelope = chatflow_outbox::envelope_for(
            UNDELIVERED_TOPIC,
            "gateway",
            &message.conversation_id,
            &event,
        );
        let mut headers = vec![
            (
                EventHeaders::ID.to_owned(),
                envelope.id.clone().into_bytes(),
            ),
            (
                EventHeaders::TYPE.to_owned(),
                UNDELIVERED_TOPIC.as_bytes().to_vec(),
            ),
            (EventHeaders::SOURCE.to_owned(), b"gateway".to_vec()),
        ];
        chatflow_events::inject_trace_context(&mut headers);
        let record = OutgoingRecord {
            topic: UNDELIVERED_TOPIC.to_owned(),
            key: message.conversation_id.clone().into_bytes(),
            payload: envelope.encode_to_vec().into(),
            headers,
        };
        self.bus
            .publish(record)
            .await
            .map(|_| ())
            .map_err(|e| HandlerError::Transient(format!("undelivered event: {e}")))
    }
}

#[async_trait]
impl Handler for Fanout {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let envelope = EventEnvelope::decode(delivery.payload.as_ref())
            .map_err(|e| HandlerError::Permanent(format!("not an event envelope: {e}")))?;
        let message = pb::Message::decode(envelope.data.as_slice())
            .map_err(|e| HandlerError::Permanent(format!("not a message: {e}")))?;
        if message.conversation_id.is_empty() || message.seq == 0 {
            return Err(HandlerError::Permanent(
                "message without conversation or seq".into(),
            ));
        }
        let offline = self.fan_out(&message).await?;
        self.announce_undelivered(&message, offline).await
    }
}
