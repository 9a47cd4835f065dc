//! The event feeds the service follows, in consumer group `receipts`
//! ([`crate::Config::consumer_group`]): the message router's topics
//! (`chatflow.messages.*`: heads, the countable index and own-send read
//! marks) and `chatflow.groups.membership_changed` (member marks). One
//! handler serves both, dispatching on the topic, through
//! `chatflow_events::run_consumer`: a malformed record is dead-lettered to
//! `<topic>.dlq`, a failing dependency is retried with backoff for about
//! two minutes ([`RETRY`]) before the record is dead-lettered too, and a
//! record is committed only once applied — every step being idempotent, a
//! redelivery changes nothing.

use std::time::Duration;

use async_trait::async_trait;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_events::{BusError, Delivery, EventBusRef, Handler, HandlerError, RetryPolicy};
use chatflow_groups_client::MEMBERSHIP_CHANGED_TOPIC;
use chatflow_proto::events::v1::EventEnvelope;
use chatflow_proto::groups::v1::MembershipChanged;
use chatflow_proto::messages::v1 as pb;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use crate::ReceiptsError;
use crate::engine::Engine;

/// The message router's topics the service follows.
pub const MESSAGE_TOPICS: [&str; 4] = chatflow_message_router::events::TOPICS;

/// Patience with a failing store or groups service: a record waits (and
/// its partition with it, keeping order) about two minutes before it is
/// dead-lettered.
pub const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 12,
    initial_backoff: Duration::from_millis(100),
    max_backoff: Duration::from_secs(30),
};

/// Every topic the consumer reads.
pub fn topics() -> Vec<String> {
    MESSAGE_TOPICS
        .iter()
        .chain([&MEMBERSHIP_CHANGED_TOPIC])
        .map(|topic| (*topic).to_owned())
        .collect()
}

/// The handler of both feeds.
pub struct Feeds {
    engine: Engine,
}

impl Feeds {
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine }
    }

    /// Follows every feed as member of `group` until `stop`; the topics must exist.
    pub async fn run(
        self,
        bus: EventBusRef,
        group: &str,
        stop: CancellationToken,
    ) -> Result<(), BusError> {
        let subscription = bus.subscribe(group, &topics()).await?;
        chatflow_events::run_consumer(subscription, bus, self, RETRY, stop).await
    }
}

fn permanent(what: &str) -> impl Fn(prost::DecodeError) -> HandlerError + '_ {
    move |e| HandlerError::Permanent(format!("not {what}: {e}"))
}

/// Bad data is dead-lettered at once; anything else is retried.
fn classify(err: ReceiptsError) -> HandlerError {
    match err.kind() {
        ErrorKind::InvalidArgument => HandlerError::Permanent(err.to_string()),
        _ => HandlerError::Transient(err.to_string()),
    }
}

#[async_trait]
impl Handler for Feeds {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let envelope = EventEnvelope::decode(delivery.payload.as_ref())
            .map_err(permanent("an event envelope"))?;
        if delivery.topic == MEMBERSHIP_CHANGED_TOPIC {
            let event = MembershipChanged::decode(envelope.data.as_slice())
                .map_err(permanent("a membership change"))?;
            if event.conversation_id.is_empty() {
                return Err(HandlerError::Permanent(
                    "membership change without conversation".into(),
                ));
            }
            return self.engine.apply_membership(&event).await.map_err(classify);
        }
        let message =
            pb::Message::decode(envelope.data.as_slice()).map_err(permanent("a message"))?;
        if message.conversation_id.is_empty() || message.seq == 0 {
            return Err(HandlerError::Permanent(
                "message without conversation or seq".into(),
            ));
        }
        self.engine
            .ingest_message(&message)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
