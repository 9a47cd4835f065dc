//! The rate limiter's behaviour, written once per backend family.

/// Instantiates every rate-limit test for one backend kind.
#[macro_export]
macro_rules! rate_limit_suite {
    ($kind:expr) => {
        use chatflow_proto::ratelimit::v1 as pb;
        use chatflow_proto::ratelimit::v1::rate_limit_service_server::RateLimitServiceServer;
        use chatflow_rate_limit::{GrpcApi, RateLimitLayer, key};
        use futures::future::join_all;
        use serde_json::json;

        use $crate::app::{TEN_MINUTES_MS, TestApp, per_ten_minutes};

        const N: usize = 50;
        const L: u32 = 10;

        #[tokio::test]
        async fn http_layer_admits_exactly_the_limit_under_concurrency() {
            let app = TestApp::spawn($kind, &[("test.ip", per_ten_minutes(L))]).await;
            let url = format!("{}/ip", app.http);
            let statuses: Vec<u16> = join_all((0..N).map(|_| app.client.get(&url).send()))
                .await
                .into_iter()
                .map(|r| r.unwrap().status().as_u16())
                .collect();
            assert_eq!(statuses.iter().filter(|s| **s == 200).count(), L as usize, "{statuses:?}");
            assert_eq!(statuses.iter().filter(|s| **s == 429).count(), N - L as usize, "{statuses:?}");
        }

        #[tokio::test]
        async fn two_replicas_share_one_limit() {
            let (first, second) = $crate::app::shared_caches($kind).await;
            let policies = [("test.ip", per_ten_minutes(L))];
            let replicas = [TestApp::spawn_on(first, &policies).await, TestApp::spawn_on(second, &policies).await];
            let requests = (0..N).map(|i| {
                let app = &replicas[i % 2];
                app.client.get(format!("{}/ip", app.http)).send()
            });
            let admitted = join_all(requests).await.into_iter().filter(|r| r.as_ref().unwrap().status() == 200).count();
            assert_eq!(admitted, L as usize, "replicas must not each admit the limit");
        }

        #[tokio::test]
        async fn grpc_check_admits_exactly_the_limit_under_concurrency() {
            let app = TestApp::spawn($kind, &[("test.grpc", per_ten_minutes(L))]).await;
            let answers = join_all((0..N).map(|_| app.grpc_check("test.grpc", "user-1"))).await;
            let allowed = answers.iter().filter(|a| a.as_ref().unwrap().allowed).count();
            assert_eq!(allowed, L as usize);
            let refused = answers.iter().map(|a| a.as_ref().unwrap()).find(|a| !a.allowed).unwrap();
            assert_eq!((refused.remaining, refused.limit), (0, L));
            assert!(refused.retry_after_ms > 0 && refused.retry_after_ms <= TEN_MINUTES_MS / u64::from(L));
        }

        #[tokio::test]
        async fn refusals_carry_retry_after_ratelimit_headers_and_a_json_body() {
            // Two per ten minutes: one request every 300 s.
            let app = TestApp::spawn($kind, &[("test.user", per_ten_minutes(2))]).await;
            let get = || app.client.get(format!("{}/user", app.http)).header("x-user-id", "alice").send();
            let first = get().await.unwrap();
            assert_eq!(first.status(), 200);
            let header = |r: &reqwest::Response, name: &str| r.headers()[name].to_str().unwrap().to_owned();
            assert_eq!(header(&first, "ratelimit-limit"), "2");
            assert_eq!(header(&first, "ratelimit-remaining"), "1");
            assert_eq!(header(&first, "ratelimit-reset"), "300");
            assert!(first.headers().get("retry-after").is_none());
            let second = get().await.unwrap();
            assert_eq!((second.status().as_u16(), header(&second, "ratelimit-remaining")), (200, "0".into()));
            assert_eq!(header(&second, "ratelimit-reset"), "600");

            let refused = get().await.unwrap();
            assert_eq!(refused.status(), 429);
            let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
            assert!((299..=300).contains(&retry_after), "{retry_after}");
            assert_eq!(header(&refused, "ratelimit-limit"), "2");
            assert_eq!(header(&refused, "ratelimit-remaining"), "0");
            assert_eq!(header(&refused, "content-type"), "application/json");
            let body: serde_json::Value = refused.json().await.unwrap();
            assert_eq!(body["error"]["code"], "resource_exhausted", "{body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("test.user"), "{body}");

            // Without the header this layer does not limit at all.
            let anonymous = app.client.get(format!("{}/user", app.http)).send().await.unwrap();
            assert_eq!(anonymous.status(), 200);
            assert!(anonymous.headers().get("ratelimit-limit").is_none());
        }

        #[tokio::test]
        async fn grpc_services_behind_the_layer_get_resource_exhausted() {
            let app = TestApp::spawn($kind, &[("test.grpc", per_ten_minutes(1))]).await;
            // The one line a tonic service adds: wrap the server before routing it.
            let server = RateLimitLayer::new(app.limiter.clone(), "test.grpc", key::by_header("x-client-id"))
                .layer(RateLimitServiceServer::new(GrpcApi::new(app.limiter.clone())));
            let routes = tonic::service::Routes::new(server);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let stop = tokio_util::sync::CancellationToken::new();
            tokio::spawn(chatflow_runtime::serve::serve_grpc(listener, routes, stop.clone()));

            let mut client = pb::rate_limit_service_client::RateLimitServiceClient::connect(url).await.unwrap();
            let call = |client_id: &str| {
                let mut request = tonic::Request::new(pb::CheckRequest { action: "messages.send.user".into(), key: "k".into(), cost: 1 });
                request.metadata_mut().insert("x-client-id", client_id.parse().unwrap());
                request
            };
            let first = client.check(call("svc-a")).await.unwrap();
            assert_eq!(first.metadata().get("ratelimit-remaining").unwrap(), "0");
            let refused = client.check(call("svc-a")).await.unwrap_err();
            assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
            assert!(refused.message().contains("test.grpc"), "{refused:?}");
            let retry_after: u64 = refused.metadata().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
            assert!((599..=600).contains(&retry_after), "{retry_after}");
            assert!(client.check(call("svc-b")).await.is_ok(), "another client id is not limited");
            stop.cancel();
        }

        #[tokio::test]
        async fn different_keys_and_actions_are_independent() {
            let app = TestApp::spawn($kind, &[("test.a", per_ten_minutes(1)), ("test.b", per_ten_minutes(1))]).await;
            let check = |action: &'static str, key: &'static str| app.limiter.check(action, key, 1);
            assert!(check("test.a", "k1").await.unwrap().allowed);
            assert!(!check("test.a", "k1").await.unwrap().allowed);
            assert!(check("test.a", "k2").await.unwrap().allowed, "another key");
            assert!(check("test.b", "k1").await.unwrap().allowed, "another action, same key");
            // The HTTP layer counts per peer IP, the gRPC API per key: same limiter state.
            assert!(app.grpc_check("test.a", "k3").await.unwrap().allowed);
            assert!(!app.grpc_check("test.a", "k3").await.unwrap().allowed);
        }

        #[tokio::test]
        async fn a_live_flag_change_governs_the_next_check() {
            let app = TestApp::spawn($kind, &[("test.live", per_ten_minutes(100))]).await;
            let first = app.limiter.check("test.live", "u1", 1).await.unwrap();
            assert_eq!((first.allowed, first.limit, first.remaining), (true, 100, 99));

            // Tighten to one per ten minutes: u1's earlier request already used it.
            app.set_flag(1, json!({"test.live": {"limit": 1, "period_ms": TEN_MINUTES_MS}}));
            let tightened = app.limiter.check("test.live", "u1", 1).await.unwrap();
            assert_eq!((tightened.allowed, tightened.limit), (false, 1));

            // A flag may also add actions the file does not know, with a burst.
            app.set_flag(2, json!({"test.new": {"limit": 1, "period_ms": TEN_MINUTES_MS, "burst": 3}}));
            let burst: Vec<bool> = join_all((0..4).map(|_| app.limiter.check("test.new", "u1", 1)))
                .await.into_iter().map(|d| d.unwrap().allowed).collect();
            assert_eq!(burst.iter().filter(|a| **a).count(), 3, "{burst:?}");
            // ...and version 2 no longer overrides test.live: the file's 100 apply again.
            assert_eq!(app.limiter.check("test.live", "u2", 1).await.unwrap().limit, 100);

            // An invalid version changes nothing; the last valid one stays.
            let mut bad = $crate::app::policy_flag(3, json!({"test.new": {"limit": 0, "period_ms": 1000}}));
            bad.updated_by = "typo".into();
            assert!(app.flags.apply(bad));
            assert_eq!(app.limiter.policy("test.new").unwrap().burst, 3);

            let mut tombstone = $crate::app::policy_flag(4, json!({}));
            tombstone.deleted = true;
            assert!(app.flags.apply(tombstone));
            let gone = app.limiter.check("test.new", "u1", 1).await.unwrap_err();
            assert!(gone.to_string().contains("no rate-limit policy for action \"test.new\""), "{gone}");
        }

        #[tokio::test]
        async fn grpc_check_validates_requests() {
            let app = TestApp::spawn($kind, &[("test.v", per_ten_minutes(5))]).await;
            let mut client = app.check_client().await;
            let cases = [
                ("no.such.action", "k".to_owned(), 1, "no rate-limit policy"),
                ("test.v", String::new(), 1, "1 to 256"),
                ("test.v", "k".repeat(257), 1, "257 bytes"),
                ("test.v", "a\u{7}b".to_owned(), 1, "control character"),
                ("test.v", "k".to_owned(), 0, "between 1 and 1000"),
                ("test.v", "k".to_owned(), 1001, "between 1 and 1000"),
                ("test.v", "k".to_owned(), 6, "exceeds the burst 5"),
            ];
            for (action, key, cost, message) in cases {
                let request = pb::CheckRequest { action: action.into(), key: key.clone(), cost };
                let status = client.check(request).await.unwrap_err();
                assert_eq!(status.code(), tonic::Code::InvalidArgument, "{action} {key:?} {cost}");
                assert!(status.message().contains(message), "{}", status.message());
            }
            let ok = pb::CheckRequest { action: "test.v".into(), key: "k".repeat(256), cost: 5 };
            let answer = client.check(ok).await.unwrap().into_inner();
            assert_eq!((answer.allowed, answer.remaining, answer.limit), (true, 0, 5));
            assert_eq!(answer.reset_after_ms, TEN_MINUTES_MS);
        }
    };
}
