//! [`GroupsClient`] over gRPC, for services in another process than groups.

use std::time::Duration;

use async_trait::async_trait;
use chatflow_authn::{ServiceIdentity, ServiceIdentityInterceptor};
use chatflow_errors::ErrorKind;
use chatflow_proto::groups::v1 as pb;
use chatflow_proto::groups::v1::groups_service_client::GroupsServiceClient;
use chatflow_runtime::propagation::TraceInterceptor;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::convert::{
    action_to_proto, conversation_from_proto, decision_from_proto, members_from_proto,
};
use crate::{Action, ClientError, Conversation, Decision, GroupsClient, Members};

/// Bound on one call, so a hung groups service yields a typed error.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Adds the caller's trace context and service identity to every call.
#[derive(Debug, Clone)]
pub struct CallInterceptor {
    identity: ServiceIdentityInterceptor,
}

impl Interceptor for CallInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let request = TraceInterceptor.call(request)?;
        self.identity.call(request)
    }
}

/// The groups service reached over gRPC; connects lazily and reconnects
/// itself. Calls are signed with the caller's [`ServiceIdentity`].
#[derive(Clone, Debug)]
pub struct GrpcGroupsClient {
    client: GroupsServiceClient<InterceptedService<Channel, CallInterceptor>>,
}

impl GrpcGroupsClient {
    /// A client for `url` such as `http://groups:7111`; no I/O until first use.
    pub fn connect_lazy(url: &str, identity: &ServiceIdentity) -> Result<Self, ClientError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| {
                ClientError::new(ErrorKind::InvalidArgument, format!("bad url {url:?}: {e}"))
            })?
            .connect_timeout(Duration::from_secs(5))
            .timeout(DEFAULT_TIMEOUT);
        let interceptor = CallInterceptor {
            identity: identity.client_interceptor(),
        };
        Ok(Self {
            client: GroupsServiceClient::with_interceptor(endpoint.connect_lazy(), interceptor),
        })
    }
}

#[async_trait]
impl GroupsClient for GrpcGroupsClient {
    async fn authorize(
        &self,
        user_id: &str,
        conversation_id: &str,
        action: Action,
    ) -> Result<Decision, ClientError> {
        let request = pb::AuthorizeRequest {
            user_id: user_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            action: action_to_proto(action).into(),
        };
        let response = self.client.clone().authorize(request).await?.into_inner();
        Ok(decision_from_proto(response))
    }

    async fn members(&self, conversation_id: &str) -> Result<Members, ClientError> {
        let request = pb::MembersRequest {
            conversation_id: conversation_id.to_owned(),
        };
        members_from_proto(self.client.clone().members(request).await?.into_inner())
    }

    async fn ensure_direct(&self, user_a: &str, user_b: &str) -> Result<Conversation, ClientError> {
        let request = pb::EnsureDirectRequest {
            user_a: user_a.to_owned(),
            user_b: user_b.to_owned(),
        };
        conversation_from_proto(
            self.client
                .clone()
                .ensure_direct(request)
                .await?
                .into_inner(),
        )
    }
}
