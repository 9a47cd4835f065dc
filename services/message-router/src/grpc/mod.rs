//! The gRPC face, `chatflow.messages.v1.RouterService`: the server over the
//! engine, and [`GrpcRouterClient`], the [`crate::RouterClient`] for
//! routers in another process. Every call carries the caller service's
//! identity (`x-chatflow-service`, see `chatflow_authn::ServiceIdentity`);
//! the end user is named in each request, as the calling service
//! authenticated them.

mod client;
mod server;

pub use client::GrpcRouterClient;
pub use server::GrpcApi;

use tonic::Status;

use crate::RouterError;

/// The status for a router error; retriable ones carry `retry-after: 1`.
pub(crate) fn to_status(err: &RouterError) -> Status {
    let mut status = chatflow_runtime::grpc::to_status(err);
    if err.is_retriable() {
        status
            .metadata_mut()
            .insert("retry-after", tonic::metadata::MetadataValue::from(1u64));
    }
    status
}
