//! The privacy port: may a viewer see an owner's status and last-seen?
//!
//! The profile service decides (its `last_seen` setting — everyone,
//! contacts where the *owner* has the viewer as a contact, nobody — and
//! blocks in either direction). A replica reaches it through
//! [`ProfileVisibility`] over gRPC or, in the same process, through the
//! handle the profile service publishes ([`ReachVisibility`]). Tests use
//! [`StaticVisibility`], which applies the same rules to facts they set.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatflow_authn::{ServiceIdentity, ServiceIdentityInterceptor};
use chatflow_platform::Reach;
use chatflow_profile::ProfileVisibilityHandle;
use chatflow_proto::profile::v1 as pb;
use chatflow_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chatflow_runtime::propagation::TraceInterceptor;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::PresenceError;

mod fixed;

pub use fixed::{Audience, StaticVisibility};

/// Whether viewers may see owners' presence.
#[async_trait]
pub trait VisibilityPort: Send + Sync + 'static {
    /// For each of `owners` (at most 1000), whether `viewer` may see their
    /// online status and last-seen; in order.
    async fn visible(&self, viewer: &str, owners: &[String]) -> Result<Vec<bool>, PresenceError>;
}

/// A shared [`VisibilityPort`].
pub type VisibilityRef = Arc<dyn VisibilityPort>;

/// Bound on one gRPC call to the profile service.
pub const PROFILE_TIMEOUT: Duration = Duration::from_secs(2);

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

/// The profile service over gRPC; connects lazily and reconnects itself.
#[derive(Debug, Clone)]
pub struct ProfileVisibility {
    client: ProfileServiceClient<InterceptedService<Channel, CallInterceptor>>,
}

impl ProfileVisibility {
    /// A client for `url` such as `http://profile:7101`, signing calls with
    /// `identity`; no I/O until first use.
    pub fn connect_lazy(url: &str, identity: &ServiceIdentity) -> Result<Self, PresenceError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| PresenceError::field("profile_url", format!("{url:?}: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(PROFILE_TIMEOUT);
        let interceptor = CallInterceptor {
            identity: identity.client_interceptor(),
        };
        Ok(Self {
            client: ProfileServiceClient::with_interceptor(endpoint.connect_lazy(), interceptor),
        })
    }
}

#[async_trait]
impl VisibilityPort for ProfileVisibility {
    async fn visible(&self, viewer: &str, owners: &[String]) -> Result<Vec<bool>, PresenceError> {
        let request = pb::PresenceVisibilityRequest {
            viewer_id: viewer.to_owned(),
            owner_ids: owners.to_vec(),
        };
        let visible = self
            .client
            .clone()
            .presence_visibility(request)
            .await?
            .into_inner()
            .visible;
        if visible.len() != owners.len() {
            return Err(PresenceError::Internal(format!(
                "profile service answered {} of {} owners",
                visible.len(),
                owners.len()
            )));
        }
        Ok(visible)
    }
}

/// The profile service in this process (its published
/// [`ProfileVisibilityHandle`], looked up at each call) or a remote port.
#[derive(Clone)]
pub struct ReachVisibility(pub Reach<VisibilityRef>);

#[async_trait]
impl VisibilityPort for ReachVisibility {
    async fn visible(&self, viewer: &str, owners: &[String]) -> Result<Vec<bool>, PresenceError> {
        let port = self
            .0
            .resolve(|handle: ProfileVisibilityHandle| Arc::new(Local(handle)) as VisibilityRef)
            .ok_or_else(|| {
                PresenceError::Unavailable(
                    "no profile service in this process and no profile_url configured".into(),
                )
            })?;
        port.visible(viewer, owners).await
    }
}

/// The in-process handle as a port.
struct Local(ProfileVisibilityHandle);

#[async_trait]
impl VisibilityPort for Local {
    async fn visible(&self, viewer: &str, owners: &[String]) -> Result<Vec<bool>, PresenceError> {
        use chatflow_errors::{ErrorKind, HasKind};
        self.0
            .presence_visibility(viewer, owners)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidArgument => PresenceError::InvalidArgument(e.to_string()),
                ErrorKind::Internal => PresenceError::Internal(format!("profile service: {e}")),
                _ => PresenceError::Unavailable(format!("profile service: {e}")),
            })
    }
}
