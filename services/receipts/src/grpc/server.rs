//! Serves `ReceiptsService` from the in-process engine.

use chatflow_authn::{ServiceIdentity, calling_service};
use chatflow_proto::receipts::v1 as pb;
use chatflow_proto::receipts::v1::receipts_service_server::{
    ReceiptsService as ReceiptsRpc, ReceiptsServiceServer,
};
use tonic::{Request, Response, Status};

use super::to_status;
use crate::convert;
use crate::engine::Engine;

/// The gRPC API over an engine.
struct GrpcApi {
    engine: Engine,
}

/// The routes, with the service-identity check in front.
pub(crate) fn routes(engine: Engine, identity: &ServiceIdentity) -> tonic::service::Routes {
    let server =
        ReceiptsServiceServer::with_interceptor(GrpcApi { engine }, identity.server_interceptor());
    tonic::service::Routes::new(server)
}

fn caller<T>(request: &Request<T>) -> String {
    calling_service(request).map_or_else(|| "unknown".to_owned(), |c| c.0.clone())
}

#[tonic::async_trait]
impl ReceiptsRpc for GrpcApi {
    async fn mark_delivered(
        &self,
        request: Request<pb::MarkDeliveredRequest>,
    ) -> Result<Response<pb::MarkDeliveredResponse>, Status> {
        let request = convert::mark_delivered_from_proto(request.into_inner());
        let advanced = self
            .engine
            .mark_delivered(&request)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::MarkDeliveredResponse { advanced }))
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Result<Response<pb::MarkReadResponse>, Status> {
        let caller = caller(&request);
        let request = convert::mark_read_from_proto(request.into_inner());
        let outcome = self
            .engine
            .mark_read(&request, false)
            .await
            .map_err(|e| to_status(&e))?;
        tracing::debug!(%caller, conversation_id = %request.conversation_id, seq = request.seq, "mark read");
        Ok(Response::new(convert::mark_read_response(&outcome)))
    }

    async fn snapshot(
        &self,
        request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<pb::SnapshotResponse>, Status> {
        let request = request.into_inner();
        let snapshot = self
            .engine
            .snapshot(&request.viewer_id, &request.conversation_ids)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(convert::snapshot_to_proto(&snapshot)))
    }

    async fn unread(
        &self,
        request: Request<pb::UnreadRequest>,
    ) -> Result<Response<pb::UnreadResponse>, Status> {
        let counts = self
            .engine
            .unread_counts(&request.into_inner().user_id)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(convert::unread_to_proto(&counts)))
    }

    async fn settings(
        &self,
        request: Request<pb::SettingsRequest>,
    ) -> Result<Response<pb::SettingsResponse>, Status> {
        let settings = self
            .engine
            .settings(&request.into_inner().user_id)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::SettingsResponse {
            reads_shared: settings.reads_shared,
        }))
    }
}
