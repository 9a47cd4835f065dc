//! [`GrpcRouterClient`]: a router in another process, behind the same
//! [`RouterClient`] trait as the in-process one.

use std::time::Duration;

use async_trait::async_trait;
use chatflow_authn::ServiceIdentity;
use chatflow_proto::messages::v1::router_service_client::RouterServiceClient;
use chatflow_runtime::propagation::TraceInterceptor;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{
    DeleteRequest, EditRequest, HistoryPage, HistoryRequest, Message, ReactRequest, RouterClient,
    RouterError, SendAck, SendRequest, SystemNotice, VersionsRequest, convert,
};

/// Adds the caller's trace context and service identity to every call.
#[derive(Clone, Debug)]
pub struct CallerInterceptor {
    identity: ServiceIdentity,
}

impl Interceptor for CallerInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let request = TraceInterceptor.call(request)?;
        self.identity.client_interceptor().call(request)
    }
}

/// A router reached over gRPC; connects lazily and reconnects by itself.
#[derive(Clone, Debug)]
pub struct GrpcRouterClient {
    client: RouterServiceClient<InterceptedService<Channel, CallerInterceptor>>,
}

impl GrpcRouterClient {
    /// How long one call may take before it fails with `Unavailable`.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// A client for `url` (e.g. `http://router:7131`) calling as `identity`; no I/O until first use.
    pub fn connect_lazy(url: &str, identity: ServiceIdentity) -> Result<Self, RouterError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| RouterError::invalid(format!("bad router url {url:?}: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Self::REQUEST_TIMEOUT);
        Ok(Self {
            client: RouterServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                CallerInterceptor { identity },
            ),
        })
    }
}

#[async_trait]
impl RouterClient for GrpcRouterClient {
    async fn send(&self, request: SendRequest) -> Result<SendAck, RouterError> {
        let response = self
            .client
            .clone()
            .send(convert::send_to_proto(&request))
            .await?;
        convert::ack_from_proto(response.into_inner().ack)
    }

    async fn edit(&self, request: EditRequest) -> Result<SendAck, RouterError> {
        let response = self
            .client
            .clone()
            .edit(convert::edit_to_proto(&request))
            .await?;
        convert::ack_from_proto(response.into_inner().ack)
    }

    async fn delete(&self, request: DeleteRequest) -> Result<SendAck, RouterError> {
        let response = self
            .client
            .clone()
            .delete(convert::delete_to_proto(&request))
            .await?;
        convert::ack_from_proto(response.into_inner().ack)
    }

    async fn react(&self, request: ReactRequest) -> Result<SendAck, RouterError> {
        let response = self
            .client
            .clone()
            .react(convert::react_to_proto(&request))
            .await?;
        convert::ack_from_proto(response.into_inner().ack)
    }

    async fn history(&self, request: HistoryRequest) -> Result<HistoryPage, RouterError> {
        let response = self
            .client
            .clone()
            .history(convert::history_to_proto(&request))
            .await?;
        convert::page_from_proto(response.into_inner())
    }

    async fn versions(&self, request: VersionsRequest) -> Result<Vec<Message>, RouterError> {
        let response = self
            .client
            .clone()
            .versions(convert::versions_to_proto(&request))
            .await?;
        response
            .into_inner()
            .versions
            .into_iter()
            .map(convert::message_from_proto)
            .collect()
    }

    async fn send_system(&self, notice: SystemNotice) -> Result<SendAck, RouterError> {
        let response = self
            .client
            .clone()
            .send_system(convert::system_to_proto(&notice))
            .await?;
        convert::ack_from_proto(response.into_inner().ack)
    }
}
