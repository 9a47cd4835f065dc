//! [`GrpcReceiptsClient`]: a receipts service in another process, behind
//! the same [`ReceiptsApi`] trait as the in-process one.

use std::time::Duration;

use async_trait::async_trait;
use chatflow_authn::ServiceIdentity;
use chatflow_proto::receipts::v1 as pb;
use chatflow_proto::receipts::v1::receipts_service_client::ReceiptsServiceClient;
use chatflow_runtime::propagation::TraceInterceptor;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{
    MarkDelivered, MarkRead, MarkReadOutcome, ReceiptSettings, ReceiptsApi, ReceiptsError,
    Snapshot, UnreadCounts, convert,
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

/// A receipts service reached over gRPC; connects lazily and reconnects by itself.
#[derive(Clone, Debug)]
pub struct GrpcReceiptsClient {
    client: ReceiptsServiceClient<InterceptedService<Channel, CallerInterceptor>>,
}

impl GrpcReceiptsClient {
    /// How long one call may take before it fails with `Unavailable`.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// A client for `url` (e.g. `http://receipts:7151`) calling as
    /// `identity`; no I/O until first use.
    pub fn connect_lazy(url: &str, identity: &ServiceIdentity) -> Result<Self, ReceiptsError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| ReceiptsError::invalid(format!("bad receipts url {url:?}: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Self::REQUEST_TIMEOUT);
        Ok(Self {
            client: ReceiptsServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                CallerInterceptor {
                    identity: identity.clone(),
                },
            ),
        })
    }
}

#[async_trait]
impl ReceiptsApi for GrpcReceiptsClient {
    async fn mark_delivered(&self, request: MarkDelivered) -> Result<u32, ReceiptsError> {
        let response = self
            .client
            .clone()
            .mark_delivered(convert::mark_delivered_to_proto(&request))
            .await?;
        Ok(response.into_inner().advanced)
    }

    async fn mark_read(&self, request: MarkRead) -> Result<MarkReadOutcome, ReceiptsError> {
        let response = self
            .client
            .clone()
            .mark_read(convert::mark_read_to_proto(&request))
            .await?;
        convert::mark_read_outcome(response.into_inner())
    }

    async fn snapshot(
        &self,
        viewer_id: &str,
        conversation_ids: &[String],
    ) -> Result<Snapshot, ReceiptsError> {
        let response = self
            .client
            .clone()
            .snapshot(pb::SnapshotRequest {
                viewer_id: viewer_id.to_owned(),
                conversation_ids: conversation_ids.to_vec(),
            })
            .await?;
        Ok(convert::snapshot_from_proto(response.into_inner()))
    }

    async fn unread(&self, user_id: &str) -> Result<UnreadCounts, ReceiptsError> {
        let response = self
            .client
            .clone()
            .unread(pb::UnreadRequest {
                user_id: user_id.to_owned(),
            })
            .await?;
        Ok(convert::unread_from_proto(response.into_inner()))
    }

    async fn settings(&self, user_id: &str) -> Result<ReceiptSettings, ReceiptsError> {
        let response = self
            .client
            .clone()
            .settings(pb::SettingsRequest {
                user_id: user_id.to_owned(),
            })
            .await?;
        Ok(ReceiptSettings {
            reads_shared: response.into_inner().reads_shared,
        })
    }
}
