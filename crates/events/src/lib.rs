//! The event-bus port: how ChatFlow services publish and consume domain events.
//!
//! Business code holds an [`EventBusRef`] and never knows which backend is
//! behind it. [`connect`] picks one by URL:
//!
//! - `kafka://host:port[,host:port]` — Kafka through rdkafka (cargo feature `kafka`);
//! - `memory://` — the embedded log, in process memory, lost on exit;
//! - `sqlite:///abs/path/bus.db` or `sqlite://relative/path.db` — the embedded
//!   log, durable across restarts.
//!
//! Every backend keeps the same contract (see `tests/it/contract`): topics
//! with partitions, per-key order (the partition is the Kafka-compatible
//! murmur2 hash of the key), consumer groups that split partitions between
//! their live members, and committed offsets that resume after a restart.
//! On top of the port, [`run_consumer`] drives a [`Handler`] with retries and
//! a dead-letter topic, and [`inject_trace_context`] / [`extract_trace_context`]
//! carry OpenTelemetry trace context in record headers.

mod bus;
mod connect;
mod embedded;
mod error;
#[cfg(feature = "kafka")]
mod kafka;
pub mod metrics;
mod namespace;
mod partition;
mod record;
mod runner;
mod topic;
mod trace;

pub use bus::{EventBus, EventBusRef, Subscription};
pub use connect::{BusOptions, connect};
pub use error::BusError;
pub use partition::partition_for_key;
pub use record::{Delivery, OutgoingRecord};
pub use runner::{Handler, HandlerError, RetryPolicy, run_consumer};
pub use topic::{dead_letter_topic, validate_topic};
pub use trace::{extract_trace_context, inject_trace_context};
