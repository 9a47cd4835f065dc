//! [`FlagSource`] over gRPC, for services in another process.

use async_trait::async_trait;
use chatflow_errors::ErrorKind;
use chatflow_flags::{Evaluation, EvaluationContext, Reason};
use chatflow_proto::config::v1 as pb;
use chatflow_proto::config::v1::config_service_client::ConfigServiceClient;
use chatflow_runtime::propagation::TraceInterceptor;
use futures::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{ClientError, FlagSource, WatchEvent, WatchStream, flag_from_proto};

/// A config service reached over gRPC; connects lazily and reconnects itself.
/// Calls carry the caller's trace context.
#[derive(Clone, Debug)]
pub struct GrpcFlagSource {
    client: ConfigServiceClient<InterceptedService<Channel, TraceInterceptor>>,
}

impl GrpcFlagSource {
    /// A client for `url` such as `http://config:7081`; no I/O until first use.
    pub fn connect_lazy(url: &str) -> Result<Self, ClientError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| {
                ClientError::new(ErrorKind::InvalidArgument, format!("bad url {url:?}: {e}"))
            })?
            .connect_timeout(std::time::Duration::from_secs(5));
        Ok(Self {
            client: ConfigServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                TraceInterceptor,
            ),
        })
    }
}

#[async_trait]
impl FlagSource for GrpcFlagSource {
    async fn evaluate(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> Result<(Evaluation, u64), ClientError> {
        let request = pb::EvaluateRequest {
            flag_key: key.to_owned(),
            context: Some(pb::EvaluationContext {
                user_id: ctx.user_id.clone().unwrap_or_default(),
                attributes: ctx.attributes.clone().into_iter().collect(),
            }),
        };
        let response = self.client.clone().evaluate(request).await?.into_inner();
        let value = serde_json::from_str(&response.value_json).map_err(|e| {
            ClientError::new(ErrorKind::Internal, format!("value is not JSON: {e}"))
        })?;
        let reason: Reason = serde_json::from_str(&response.reason)
            .map_err(|e| ClientError::new(ErrorKind::Internal, format!("bad reason: {e}")))?;
        Ok((
            Evaluation {
                variant: response.variant,
                value,
                reason,
            },
            response.version,
        ))
    }

    async fn watch(&self) -> Result<WatchStream, ClientError> {
        let stream = self
            .client
            .clone()
            .watch(pb::WatchRequest {})
            .await?
            .into_inner();
        Ok(stream
            .map(|frame| {
                let frame = frame?
                    .frame
                    .ok_or_else(|| ClientError::new(ErrorKind::Internal, "empty watch frame"))?;
                match frame {
                    pb::watch_response::Frame::Snapshot(s) => Ok(WatchEvent::Snapshot(
                        s.flags
                            .into_iter()
                            .map(flag_from_proto)
                            .collect::<Result<_, _>>()?,
                    )),
                    pb::watch_response::Frame::Change(flag) => {
                        Ok(WatchEvent::Change(flag_from_proto(flag)?))
                    }
                }
            })
            .boxed())
    }
}
