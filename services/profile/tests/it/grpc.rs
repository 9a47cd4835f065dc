//! The internal gRPC API (`ProfileService.PresenceVisibility`) and its
//! in-process twin, against settings, contacts and blocks made over REST.

use std::sync::Arc;

use chatflow_authn::{ServiceIdentity, ServiceIdentityInterceptor};
use chatflow_profile::{
    Deps, GrpcListener, Listeners, PUBLISHED_TOPICS, ProfileService, ProfileVisibilityHandle,
};
use chatflow_proto::profile::v1 as pb;
use chatflow_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chatflow_runtime::Secret;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use reqwest::Method;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The fleet secret of the test service.
const SECRET: &str = "profile-tests-internal-secret-of-32-bytes";

fn identity(name: &str, secret: &str) -> ServiceIdentity {
    ServiceIdentity::new(name, &Secret::new(secret.to_owned())).unwrap()
}

/// A profile service serving REST and gRPC on port 0.
pub struct GrpcApp {
    pub grpc: String,
    pub handle: ProfileVisibilityHandle,
    http: String,
    issuer: TestIssuer,
    stop: CancellationToken,
    _backends: Arc<TestBackends>,
}

impl Drop for GrpcApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Adds a service identity to each call, or nothing.
#[derive(Clone)]
pub struct MaybeSigned(Option<ServiceIdentityInterceptor>);

impl tonic::service::Interceptor for MaybeSigned {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        match &mut self.0 {
            Some(signer) => signer.call(request),
            None => Ok(request),
        }
    }
}

impl GrpcApp {
    pub async fn spawn(kind: BackendKind) -> Self {
        let backends = Arc::new(TestBackends::new(kind).await);
        for topic in PUBLISHED_TOPICS {
            backends.bus.ensure_topic(topic, 4).await.unwrap();
        }
        let cache = backends.cache().await;
        let issuer = TestIssuer::new();
        let deps = Deps {
            sql: backends.sql.clone(),
            bus: backends.bus.clone(),
            cache: cache.clone(),
            verifier: issuer.verifier(cache),
            flags: None,
        };
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let urls = (
            format!("http://{}", grpc.local_addr().unwrap()),
            format!("http://{}", http.local_addr().unwrap()),
        );
        let service = ProfileService::build(crate::app::test_config(), deps)
            .await
            .unwrap()
            .with_grpc(GrpcListener {
                listener: grpc,
                identity: identity("profile", SECRET),
            });
        let handle = service.visibility_handle();
        let stop = CancellationToken::new();
        tokio::spawn(service.run(Listeners { http }, stop.clone()));
        Self {
            grpc: urls.0,
            http: urls.1,
            handle,
            issuer,
            stop,
            _backends: backends,
        }
    }

    /// A client signing as `caller` with `secret`, or sending no identity.
    pub async fn client(
        &self,
        signer: Option<(&str, &str)>,
    ) -> ProfileServiceClient<InterceptedService<Channel, MaybeSigned>> {
        let channel = tonic::transport::Endpoint::from_shared(self.grpc.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let signer = signer.map(|(name, secret)| identity(name, secret).client_interceptor());
        ProfileServiceClient::with_interceptor(channel, MaybeSigned(signer))
    }

    /// A new user with a profile, and their token.
    pub async fn user(&self) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        let token = self.issuer.token(&id, &[]);
        let body = json!({"display_name": "Someone"});
        assert_eq!(
            self.rest(Method::PATCH, "/v1/profile/me", &token, Some(body))
                .await,
            200
        );
        (id, token)
    }

    /// Sends a REST request; returns the status.
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> u16 {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// Sets every privacy field but `last_seen` to everyone.
    pub async fn last_seen(&self, token: &str, audience: &str) {
        let body = json!({"last_seen": audience, "avatar": "everyone", "about": "everyone", "discovery": "everyone"});
        let path = "/v1/profile/me/privacy";
        assert_eq!(self.rest(Method::PUT, path, token, Some(body)).await, 200);
    }

    /// Asks over gRPC (as `presence`) and in process; both must agree.
    pub async fn visible(&self, viewer: &str, owners: &[&String]) -> Vec<bool> {
        let owners: Vec<String> = owners.iter().map(|o| (*o).clone()).collect();
        let request = pb::PresenceVisibilityRequest {
            viewer_id: viewer.to_owned(),
            owner_ids: owners.clone(),
        };
        let mut client = self.client(Some(("presence", SECRET))).await;
        let remote = client
            .presence_visibility(request)
            .await
            .unwrap()
            .into_inner()
            .visible;
        let local = self
            .handle
            .presence_visibility(viewer, &owners)
            .await
            .unwrap();
        assert_eq!(remote, local, "gRPC and in-process answers differ");
        remote
    }

    /// The status code of a gRPC call that must fail.
    pub async fn refused(
        &self,
        signer: Option<(&str, &str)>,
        viewer: &str,
        owners: Vec<String>,
    ) -> tonic::Code {
        let request = pb::PresenceVisibilityRequest {
            viewer_id: viewer.to_owned(),
            owner_ids: owners,
        };
        let mut client = self.client(signer).await;
        client
            .presence_visibility(request)
            .await
            .unwrap_err()
            .code()
    }
}

/// Instantiates the gRPC tests for one backend kind.
#[macro_export]
macro_rules! grpc_suite {
    ($kind:expr) => {
        use reqwest::Method;

        use $crate::grpc::GrpcApp;

        #[tokio::test]
        async fn visibility_follows_last_seen_settings_and_contacts_of_the_owner() {
            let app = GrpcApp::spawn($kind).await;
            let (viewer, viewer_token) = app.user().await;
            let (everyone, everyone_token) = app.user().await;
            let (contacts, contacts_token) = app.user().await;
            let (nobody, nobody_token) = app.user().await;
            let never_seen = uuid::Uuid::new_v4().to_string();
            app.last_seen(&everyone_token, "everyone").await;
            app.last_seen(&nobody_token, "nobody").await;
            let owners = [&everyone, &contacts, &nobody, &never_seen, &viewer];
            // `contacts` is the default; the viewer is no one's contact yet.
            assert_eq!(
                app.visible(&viewer, &owners).await,
                [true, false, false, false, true]
            );
            // Having the owner as *your* contact does not count.
            assert_eq!(
                app.rest(
                    Method::PUT,
                    &format!("/v1/contacts/{contacts}"),
                    &viewer_token,
                    None
                )
                .await,
                204
            );
            assert_eq!(
                app.visible(&viewer, &owners).await,
                [true, false, false, false, true]
            );
            // The owner having the viewer as a contact does.
            for token in [&contacts_token, &nobody_token] {
                assert_eq!(
                    app.rest(Method::PUT, &format!("/v1/contacts/{viewer}"), token, None)
                        .await,
                    204
                );
            }
            app.last_seen(&contacts_token, "contacts").await;
            assert_eq!(
                app.visible(&viewer, &owners).await,
                [true, true, false, false, true]
            );
            // Duplicates and order are kept.
            assert_eq!(
                app.visible(&viewer, &[&nobody, &contacts, &contacts]).await,
                [false, true, true]
            );
            assert!(app.visible(&viewer, &[]).await.is_empty());
        }

        #[tokio::test]
        async fn blocks_hide_presence_in_both_directions() {
            let app = GrpcApp::spawn($kind).await;
            let (viewer, viewer_token) = app.user().await;
            let (blocker, blocker_token) = app.user().await;
            let (blocked, blocked_token) = app.user().await;
            for token in [&blocker_token, &blocked_token] {
                app.last_seen(token, "everyone").await;
            }
            let owners = [&blocker, &blocked];
            assert_eq!(app.visible(&viewer, &owners).await, [true, true]);
            assert_eq!(
                app.rest(
                    Method::PUT,
                    &format!("/v1/blocks/{viewer}"),
                    &blocker_token,
                    None
                )
                .await,
                204
            );
            assert_eq!(
                app.rest(
                    Method::PUT,
                    &format!("/v1/blocks/{blocked}"),
                    &viewer_token,
                    None
                )
                .await,
                204
            );
            assert_eq!(app.visible(&viewer, &owners).await, [false, false]);
            // And the other way round: neither sees the viewer any more.
            app.last_seen(&viewer_token, "everyone").await;
            assert_eq!(app.visible(&blocker, &[&viewer]).await, [false]);
            assert_eq!(app.visible(&blocked, &[&viewer]).await, [false]);
            assert_eq!(
                app.rest(
                    Method::DELETE,
                    &format!("/v1/blocks/{viewer}"),
                    &blocker_token,
                    None
                )
                .await,
                204
            );
            assert_eq!(app.visible(&viewer, &owners).await, [true, false]);
        }

        #[tokio::test]
        async fn calls_need_a_service_identity_and_valid_ids() {
            let app = GrpcApp::spawn($kind).await;
            let owner = vec!["owner-1".to_owned()];
            assert_eq!(
                app.refused(None, "viewer", owner.clone()).await,
                tonic::Code::Unauthenticated
            );
            let forged = Some(("presence", "another-secret-that-is-32-bytes-long"));
            assert_eq!(
                app.refused(forged, "viewer", owner.clone()).await,
                tonic::Code::Unauthenticated
            );
            let signed = Some(("presence", $crate::grpc::secret()));
            for (viewer, owners) in [
                ("", owner.clone()),
                ("bad viewer", owner.clone()),
                ("viewer", vec!["x".repeat(65)]),
                ("viewer", vec!["a/b".to_owned()]),
                ("viewer", (0..1001).map(|i| format!("u{i}")).collect()),
            ] {
                assert_eq!(
                    app.refused(signed, viewer, owners).await,
                    tonic::Code::InvalidArgument
                );
            }
            let most: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
            let answer = app
                .handle
                .presence_visibility("viewer", &most)
                .await
                .unwrap();
            assert_eq!(answer.len(), 1000);
            assert!(
                app.handle
                    .presence_visibility("viewer", &[String::new()])
                    .await
                    .is_err()
            );
        }
    };
}

/// The secret the test service checks identities with.
pub fn secret() -> &'static str {
    SECRET
}
