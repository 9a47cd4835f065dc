//! Serves `RouterService` from the in-process engine.

use std::collections::BTreeSet;
use std::sync::Arc;

use chatflow_authn::calling_service;
use chatflow_proto::messages::v1 as pb;
use chatflow_proto::messages::v1::router_service_server::RouterService as RouterRpc;
use tonic::{Request, Response, Status};

use super::to_status;
use crate::engine::Engine;
use crate::{RouterClient, RouterError, convert};

/// The gRPC API over an engine.
#[derive(Clone, Debug)]
pub struct GrpcApi {
    engine: Engine,
    /// Services allowed to call `SendSystem`.
    system_senders: Arc<BTreeSet<String>>,
}

impl GrpcApi {
    /// Serves `engine`; only `system_senders` may post system notices.
    pub(crate) fn new(engine: Engine, system_senders: &[String]) -> Self {
        Self {
            engine,
            system_senders: Arc::new(system_senders.iter().cloned().collect()),
        }
    }
}

fn ack(ack: crate::SendAck) -> Option<pb::SendAck> {
    Some(convert::ack_to_proto(ack))
}

#[tonic::async_trait]
impl RouterRpc for GrpcApi {
    async fn send(
        &self,
        request: Request<pb::SendRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let request = convert::send_from_proto(request.into_inner()).map_err(|e| to_status(&e))?;
        let sent = self.engine.send(request).await.map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::SendResponse { ack: ack(sent) }))
    }

    async fn edit(
        &self,
        request: Request<pb::EditRequest>,
    ) -> Result<Response<pb::EditResponse>, Status> {
        let request = convert::edit_from_proto(request.into_inner()).map_err(|e| to_status(&e))?;
        let edited = self.engine.edit(request).await.map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::EditResponse { ack: ack(edited) }))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let request =
            convert::delete_from_proto(request.into_inner()).map_err(|e| to_status(&e))?;
        let deleted = self
            .engine
            .delete(request)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::DeleteResponse { ack: ack(deleted) }))
    }

    async fn react(
        &self,
        request: Request<pb::ReactRequest>,
    ) -> Result<Response<pb::ReactResponse>, Status> {
        let request = convert::react_from_proto(request.into_inner()).map_err(|e| to_status(&e))?;
        let reacted = self
            .engine
            .react(request)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::ReactResponse { ack: ack(reacted) }))
    }

    async fn history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryResponse>, Status> {
        let request =
            convert::history_from_proto(request.into_inner()).map_err(|e| to_status(&e))?;
        let page = self
            .engine
            .history(request)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(convert::page_to_proto(&page)))
    }

    async fn versions(
        &self,
        request: Request<pb::VersionsRequest>,
    ) -> Result<Response<pb::VersionsResponse>, Status> {
        let request =
            convert::versions_from_proto(request.into_inner()).map_err(|e| to_status(&e))?;
        let versions = self
            .engine
            .versions(request)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::VersionsResponse {
            versions: versions.iter().map(convert::message_to_proto).collect(),
        }))
    }

    async fn send_system(
        &self,
        request: Request<pb::SendSystemRequest>,
    ) -> Result<Response<pb::SendSystemResponse>, Status> {
        let caller = calling_service(&request).map(|service| service.0.clone());
        if !caller
            .as_ref()
            .is_some_and(|name| self.system_senders.contains(name))
        {
            let caller = caller.unwrap_or_else(|| "unknown".to_owned());
            return Err(to_status(&RouterError::PermissionDenied(format!(
                "service {caller} may not post system notices"
            ))));
        }
        let notice = convert::system_from_proto(request.into_inner());
        let sent = self
            .engine
            .send_system(notice)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::SendSystemResponse { ack: ack(sent) }))
    }
}
