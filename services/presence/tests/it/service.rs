//! The presence service over REST and gRPC, and the profile service as the
//! visibility port (over gRPC and in process).

use std::sync::Arc;

use chatflow_authn::ServiceIdentity;
use chatflow_authn::ServiceIdentityInterceptor;
use chatflow_presence::{
    Config, Deps, Listeners, PresenceService, ProfileVisibility, ReachVisibility, StaticVisibility,
    VisibilityPort, VisibilityRef,
};
pub use chatflow_proto::presence::v1 as pb;
use chatflow_proto::presence::v1::presence_service_client::PresenceServiceClient;
use chatflow_runtime::Secret;
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::support::{settings, user};

/// The fleet secret of the test services.
pub const SECRET: &str = "presence-tests-internal-secret-of-32-bytes";

pub fn identity(name: &str) -> ServiceIdentity {
    ServiceIdentity::new(name, &Secret::new(SECRET.to_owned())).unwrap()
}

/// A running presence service and what a test needs to talk to it.
pub struct TestService {
    pub http: String,
    pub grpc: String,
    pub issuer: TestIssuer,
    pub node: chatflow_presence::PresenceNode,
    pub visibility: Arc<StaticVisibility>,
    /// Keeps the embedded files alive.
    _backends: TestBackends,
    stop: CancellationToken,
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestService {
    pub async fn spawn(kind: BackendKind) -> Self {
        let backends = TestBackends::new(kind).await;
        let cache = backends.cache().await;
        let issuer = TestIssuer::new();
        let visibility = Arc::new(StaticVisibility::everyone());
        let stop = CancellationToken::new();
        let deps = Deps {
            cache: cache.clone(),
            bus: backends.bus.clone(),
            visibility: visibility.clone(),
            verifier: issuer.verifier(cache),
            identity: identity("presence"),
            replica_shutdown: stop.clone(),
        };
        let config = Config {
            presence: settings(),
            ..Config::default()
        };
        let service = PresenceService::build(config, deps).await.unwrap();
        let node = service.node();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (http_url, grpc_url) = (
            format!("http://{}", http.local_addr().unwrap()),
            format!("http://{}", grpc.local_addr().unwrap()),
        );
        tokio::spawn(service.run(Listeners { http, grpc }, stop.clone()));
        Self {
            http: http_url,
            grpc: grpc_url,
            issuer,
            node,
            visibility,
            _backends: backends,
            stop,
        }
    }

    /// `GET path` with an optional bearer token: status and JSON body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.http));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A gRPC client signing as `caller` (or sending no identity).
    pub async fn client(
        &self,
        caller: Option<&str>,
    ) -> PresenceServiceClient<InterceptedService<Channel, MaybeSigned>> {
        let channel = tonic::transport::Endpoint::from_shared(self.grpc.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let signer = caller.map(|name| identity(name).client_interceptor());
        PresenceServiceClient::with_interceptor(channel, MaybeSigned(signer))
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

/// Instantiates the service tests for one backend kind.
#[macro_export]
macro_rules! service_suite {
    ($kind:expr) => {
        use chatflow_presence::{Audience, Status};
        use serde_json::json;

        use $crate::service::{TestService, pb};
        use $crate::support::{user, wait_status};

        #[tokio::test]
        async fn rest_answers_for_the_token_user_within_limits() {
            let app = TestService::spawn($kind).await;
            let (viewer, ann, bob) = (user(), user(), user());
            let token = app.issuer.token(&viewer, &[]);
            let _phone = app.node.connect(&ann, "phone").unwrap();
            let _laptop = app.node.connect(&bob, "laptop").unwrap();
            wait_status(&app.node, &bob, Status::Online).await;
            app.visibility.set_audience(&bob, Audience::Nobody);

            let path = format!("/v1/presence?user_ids={ann},{bob}");
            assert_eq!(app.get(&path, None).await.0, 401);
            assert_eq!(app.get(&path, Some("not-a-token")).await.0, 401);
            let (status, body) = app.get(&path, Some(&token)).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["users"][0]["status"], "online");
            assert!(body["users"][0]["last_seen_ms"].is_i64());
            assert!(body["users"][0].get("device_ids").is_none(), "{body}");
            assert_eq!(body["users"][1], json!({"user_id": bob, "status": "offline", "last_seen_ms": null}));

            let many = vec!["u"; 1001].join(",");
            for bad in [
                "/v1/presence".to_owned(),
                "/v1/presence?user_ids=".to_owned(),
                "/v1/presence?user_ids=a,,b".to_owned(),
                "/v1/presence?user_ids=a%20b".to_owned(),
                format!("/v1/presence?user_ids={ann}&extra=1"),
                format!("/v1/presence?user_ids={many}"),
            ] {
                let (status, body) = app.get(&bad, Some(&token)).await;
                assert_eq!(status, 400, "{bad}: {body}");
                assert_eq!(body["error"]["code"], "invalid_argument", "{body}");
            }
            let ok = vec!["u"; 1000].join(",");
            assert_eq!(app.get(&format!("/v1/presence?user_ids={ok}"), Some(&token)).await.0, 200);
            let (status, doc) = app.get("/v1/presence/openapi.json", None).await;
            assert_eq!(status, 200);
            assert!(doc["paths"]["/v1/presence"].is_object());
        }

        #[tokio::test]
        async fn grpc_requires_a_service_identity_and_valid_ids() {
            let app = TestService::spawn($kind).await;
            let (viewer, ann) = (user(), user());
            let _phone = app.node.connect(&ann, "phone").unwrap();
            wait_status(&app.node, &ann, Status::Online).await;
            app.visibility.set_audience(&ann, Audience::Contacts);
            let request = |viewer: &str, ids: Vec<String>| pb::GetRequest {
                viewer_id: viewer.to_owned(),
                user_ids: ids,
            };

            let err = app.client(None).await.get(request("", vec![ann.clone()])).await.unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unauthenticated);

            let mut client = app.client(Some("notification")).await;
            let service = client.get(request("", vec![ann.clone()])).await.unwrap().into_inner();
            let presence = &service.users[0];
            assert_eq!(presence.status(), pb::Status::Online);
            assert_eq!(presence.device_ids, vec!["phone"]);
            assert!(presence.last_seen_ms.is_some());

            let filtered = client.get(request(&viewer, vec![ann.clone()])).await.unwrap().into_inner();
            let hidden = &filtered.users[0];
            assert_eq!((hidden.status(), hidden.last_seen_ms, hidden.device_ids.len()), (pb::Status::Offline, None, 0));

            let many: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
            for bad in [request("", vec!["a b".into()]), request("bad viewer", vec![ann.clone()]), request("", many)] {
                let err = client.get(bad).await.unwrap_err();
                assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
            }
        }
    };
}

/// The profile service's answers reach presence over gRPC and in process.
#[tokio::test]
async fn the_profile_service_is_the_visibility_port() {
    let backends = TestBackends::new(BackendKind::Embedded).await;
    let cache = backends.cache().await;
    let issuer = TestIssuer::new();
    let mut config = chatflow_profile::Config::default();
    config.discovery.key = Some(Secret::new(
        "Y2hhdGZsb3ctdGVzdC1kaXNjb3Zlcnkta2V5LTMyYnk=".to_owned(),
    ));
    let deps = chatflow_profile::Deps {
        sql: backends.sql.clone(),
        bus: backends.bus.clone(),
        cache: cache.clone(),
        verifier: issuer.verifier(cache),
        flags: None,
    };
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", grpc.local_addr().unwrap());
    let service = chatflow_profile::ProfileService::build(config, deps)
        .await
        .unwrap()
        .with_grpc(chatflow_profile::GrpcListener {
            listener: grpc,
            identity: identity("profile"),
        });
    let handles = chatflow_platform::Handles::default();
    handles.publish(service.visibility_handle());
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(service.run(chatflow_profile::Listeners { http }, stop.clone()));

    let remote: VisibilityRef =
        Arc::new(ProfileVisibility::connect_lazy(&url, &identity("presence")).unwrap());
    let local: VisibilityRef = Arc::new(ReachVisibility(chatflow_platform::Reach::InProcess(
        handles,
    )));
    let missing: VisibilityRef = Arc::new(ReachVisibility(chatflow_platform::Reach::InProcess(
        chatflow_platform::Handles::default(),
    )));
    let (viewer, owner) = (user(), user());
    let owners = vec![owner.clone(), viewer.clone()];
    for port in [&remote, &local] {
        // Default settings: last-seen for the owner's contacts only.
        assert_eq!(port.visible(&viewer, &owners).await.unwrap(), [false, true]);
        let err = port.visible("bad id", &owners).await.unwrap_err();
        assert!(
            matches!(err, chatflow_presence::PresenceError::InvalidArgument(_)),
            "{err:?}"
        );
    }
    let err = missing.visible(&viewer, &owners).await.unwrap_err();
    assert!(
        matches!(err, chatflow_presence::PresenceError::Unavailable(_)),
        "{err:?}"
    );
    let wrong = ServiceIdentity::new("presence", &Secret::new("x".repeat(40))).unwrap();
    let forged = ProfileVisibility::connect_lazy(&url, &wrong).unwrap();
    assert!(forged.visible(&viewer, &owners).await.is_err());
    stop.cancel();
}
