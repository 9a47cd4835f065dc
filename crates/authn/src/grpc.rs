//! tonic glue: [`GrpcAuthLayer`] verifies the `authorization` metadata of
//! every call to a gRPC service before the service sees it.
//!
//! tonic interceptors are synchronous, and the revocation check is a cache
//! lookup, so this is a tower layer instead. Wrap each user-facing service
//! (health and reflection stay open):
//!
//! ```ignore
//! let routes = Routes::default()
//!     .add_service(GrpcAuthLayer::new(verifier).layer(RouterServer::new(svc)));
//! ```
//!
//! Handlers read the caller with [`grpc_user`]. Rejections are
//! `UNAUTHENTICATED` (or `UNAVAILABLE` when keys or the revocation list cannot
//! be read — fail closed), answered without calling the service.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::Status;
use tonic::server::NamedService;
use tower::{Layer, Service};

use crate::{AuthenticatedUser, AuthnError, TokenVerifier};

/// Wraps gRPC services so every call must carry a valid bearer token.
#[derive(Debug, Clone)]
pub struct GrpcAuthLayer {
    verifier: TokenVerifier,
}

impl GrpcAuthLayer {
    /// A layer checking calls with `verifier`.
    pub fn new(verifier: TokenVerifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for GrpcAuthLayer {
    type Service = GrpcAuth<S>;

    fn layer(&self, inner: S) -> GrpcAuth<S> {
        GrpcAuth {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// A gRPC service behind [`GrpcAuthLayer`].
#[derive(Debug, Clone)]
pub struct GrpcAuth<S> {
    inner: S,
    verifier: TokenVerifier,
}

/// Keeps the wrapped service's route, so it can be added to tonic `Routes`.
impl<S: NamedService> NamedService for GrpcAuth<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcAuth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let verified = match request.headers().get(http::header::AUTHORIZATION) {
                None => verifier.verify_bearer(None).await,
                Some(value) => match value.to_str() {
                    Ok(value) => verifier.verify_bearer(Some(value)).await,
                    Err(_) => Err(crate::metrics::rejected(AuthnError::Malformed(
                        "authorization metadata is not ASCII".into(),
                    ))),
                },
            };
            match verified {
                Ok(user) => {
                    request.extensions_mut().insert(user);
                    inner.call(request).await
                }
                Err(err) => Ok(chatflow_runtime::grpc::to_status(&err).into_http()),
            }
        })
    }
}

/// The caller [`GrpcAuthLayer`] verified; `UNAUTHENTICATED` if the service
/// was mounted without the layer (fail closed).
pub fn grpc_user<T>(request: &tonic::Request<T>) -> Result<&AuthenticatedUser, Status> {
    request
        .extensions()
        .get::<AuthenticatedUser>()
        .ok_or_else(|| Status::unauthenticated("no verified caller (is GrpcAuthLayer installed?)"))
}
