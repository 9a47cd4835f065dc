//! The config service's client side.
//!
//! Business code holds a [`FlagSourceRef`] and never knows whether the
//! config service runs in the same process (the service implements
//! [`FlagSource`] directly) or elsewhere ([`GrpcFlagSource`]). A
//! [`FlagWatcher`] keeps a local [`chatflow_flags::FlagCache`] current from
//! the `Watch` stream, so hot paths evaluate flags without a network call.

mod convert;
mod error;
mod grpc;
mod watcher;

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_flags::{Evaluation, EvaluationContext, StoredFlag};
use futures::stream::BoxStream;

pub use convert::{flag_from_proto, flag_to_proto};
pub use error::ClientError;
pub use grpc::GrpcFlagSource;
pub use watcher::FlagWatcher;

/// One frame of a watch: the full state once, then changes.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// Every live flag at the moment the watch started.
    Snapshot(Vec<StoredFlag>),
    /// One flag created, updated or deleted (a tombstone) after the snapshot.
    Change(StoredFlag),
}

/// A stream of watch frames.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, ClientError>>;

/// Where flags come from: the config service, local or remote.
#[async_trait]
pub trait FlagSource: Send + Sync + 'static {
    /// Evaluates one flag on the server side.
    async fn evaluate(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> Result<(Evaluation, u64), ClientError>;
    /// Starts a watch: a snapshot, then every change.
    async fn watch(&self) -> Result<WatchStream, ClientError>;
}

/// A shared handle to a [`FlagSource`].
pub type FlagSourceRef = Arc<dyn FlagSource>;
