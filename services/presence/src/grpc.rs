//! The internal gRPC API, `chatflow.presence.v1.PresenceService`.
//!
//! Only services may call it: every call must carry a valid
//! `x-chatflow-service` assertion, checked by an interceptor before the
//! handler runs. An empty `viewer_id` is a service asking for itself
//! (notification: is any device of this user online?) and gets unfiltered
//! answers with device ids.

use chatflow_authn::ServiceIdentity;
use chatflow_presence_crdt::Status;
use chatflow_proto::presence::v1 as pb;
use chatflow_proto::presence::v1::presence_service_server::{
    PresenceService as PresenceRpc, PresenceServiceServer,
};
use tonic::{Request, Response};

use crate::{PresenceNode, PresenceView};

/// The routes, with the service-identity check in front.
pub(crate) fn routes(node: PresenceNode, identity: &ServiceIdentity) -> tonic::service::Routes {
    let server =
        PresenceServiceServer::with_interceptor(GrpcApi { node }, identity.server_interceptor());
    tonic::service::Routes::new(server)
}

/// Serves `Get` from the node.
struct GrpcApi {
    node: PresenceNode,
}

#[tonic::async_trait]
impl PresenceRpc for GrpcApi {
    async fn get(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::GetResponse>, tonic::Status> {
        let request = request.into_inner();
        let viewer = Some(request.viewer_id.as_str()).filter(|v| !v.is_empty());
        let users = self.node.get(viewer, &request.user_ids).await?;
        Ok(Response::new(pb::GetResponse {
            users: users.into_iter().map(to_proto).collect(),
        }))
    }
}

fn to_proto(view: PresenceView) -> pb::UserPresence {
    let status = match view.status {
        Status::Offline => pb::Status::Offline,
        Status::Away => pb::Status::Away,
        Status::Online => pb::Status::Online,
    };
    pb::UserPresence {
        user_id: view.user_id,
        status: status.into(),
        last_seen_ms: view.last_seen_ms,
        device_ids: view.device_ids,
    }
}
