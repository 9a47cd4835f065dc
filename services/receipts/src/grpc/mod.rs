//! The gRPC face, `chatflow.receipts.v1.ReceiptsService`: the server over
//! the engine, and [`GrpcReceiptsClient`], the [`crate::ReceiptsApi`] for a
//! receipts service in another process. Every call carries the caller
//! service's identity (`x-chatflow-service`, see
//! `chatflow_authn::ServiceIdentity`), checked before any handler runs
//! (`UNAUTHENTICATED` without); the end user is named in each request, as
//! the calling service authenticated them.

mod client;
mod server;

pub use client::GrpcReceiptsClient;
pub(crate) use server::routes;

use tonic::Status;

use crate::ReceiptsError;

/// The status for an error; retriable ones carry `retry-after: 1`.
pub(crate) fn to_status(err: &ReceiptsError) -> Status {
    let mut status = chatflow_runtime::grpc::to_status(err);
    if chatflow_errors::HasKind::kind(err).is_retriable() {
        status
            .metadata_mut()
            .insert("retry-after", tonic::metadata::MetadataValue::from(1u64));
    }
    status
}
