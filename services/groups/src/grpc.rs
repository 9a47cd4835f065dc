//! The gRPC face for other services: `Authorize`, `Members`, `EnsureDirect`.
//!
//! Only services may call it: every call must carry a valid
//! `x-chatflow-service` assertion ([`chatflow_authn::ServiceIdentity`]),
//! checked by an interceptor before the handler runs; without one the answer
//! is `UNAUTHENTICATED`.

use chatflow_authn::{ServiceIdentity, calling_service};
use chatflow_groups_client::convert;
use chatflow_proto::groups::v1 as pb;
use chatflow_proto::groups::v1::groups_service_server::{
    GroupsService as GroupsRpc, GroupsServiceServer,
};
use tonic::{Request, Response, Status};

use crate::engine::Engine;

/// Serves `chatflow.groups.v1.GroupsService` from the engine.
pub struct GrpcApi {
    engine: Engine,
}

/// The routes, with the service-identity check in front.
pub fn routes(engine: Engine, identity: &ServiceIdentity) -> tonic::service::Routes {
    let server =
        GroupsServiceServer::with_interceptor(GrpcApi { engine }, identity.server_interceptor());
    tonic::service::Routes::new(server)
}

fn caller<T>(request: &Request<T>) -> String {
    calling_service(request).map_or_else(|| "unknown".to_owned(), |c| c.0.clone())
}

#[tonic::async_trait]
impl GroupsRpc for GrpcApi {
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        let action = convert::action_from_proto(request.action)?;
        let decision = self
            .engine
            .authorize(&request.user_id, &request.conversation_id, action)
            .await
            .map_err(|e| chatflow_runtime::grpc::to_status(&e))?;
        tracing::debug!(%caller, conversation_id = %request.conversation_id, %action, allowed = decision.allowed, "authorize");
        Ok(Response::new(convert::decision_to_proto(&decision)))
    }

    async fn members(
        &self,
        request: Request<pb::MembersRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        let request = request.into_inner();
        let members = self
            .engine
            .members(&request.conversation_id)
            .await
            .map_err(|e| chatflow_runtime::grpc::to_status(&e))?;
        Ok(Response::new(convert::members_to_proto(&members)))
    }

    async fn ensure_direct(
        &self,
        request: Request<pb::EnsureDirectRequest>,
    ) -> Result<Response<pb::EnsureDirectResponse>, Status> {
        let caller = caller(&request);
        let request = request.into_inner();
        let conversation = self
            .engine
            .ensure_direct(&request.user_a, &request.user_b)
            .await
            .map_err(|e| chatflow_runtime::grpc::to_status(&e))?;
        if conversation.created {
            tracing::debug!(%caller, conversation_id = %conversation.conversation_id, "direct conversation created over gRPC");
        }
        Ok(Response::new(convert::conversation_to_proto(&conversation)))
    }
}
