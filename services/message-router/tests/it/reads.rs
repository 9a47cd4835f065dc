//! History paging, membership checks and bad input over REST and gRPC.

/// Instantiates the read and input tests for one backend kind.
#[macro_export]
macro_rules! read_suite {
    ($kind:expr) => {
        use chatflow_message_router::{
            HistoryPage, HistoryRequest, RouterClient, StaticMembership, SystemNotice,
        };
        use serde_json::Value;

        use $crate::app::EVE;

        fn seqs(page: &Value) -> Vec<u64> {
            page["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect()
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn history_pages_both_ways_within_limits() {
            let app = TestApp::spawn($kind).await;
            for i in 1..=25 {
                app.send(ANN, DIRECT, &format!("m{i}"), &format!("message {i}")).await;
            }
            let base = format!("/v1/conversations/{DIRECT}/messages");
            let get = |query: &str| {
                let path = format!("{base}?{query}");
                let app = &app;
                async move { app.call(BOB, Method::GET, &path, None).await }
            };
            let (status, page) = get("after=0&limit=10").await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(seqs(&page), (1..=10).collect::<Vec<_>>());
            assert_eq!((page["has_more"].as_bool(), page["last_seq"].as_u64()), (Some(true), Some(25)));
            let (_, page) = get("after=20&limit=10").await;
            assert_eq!((seqs(&page), page["has_more"].as_bool()), ((21..=25).collect(), Some(false)));
            // Backward from the end, then from a seq; ascending order either way.
            let (_, page) = get("limit=10").await;
            assert_eq!((seqs(&page), page["has_more"].as_bool()), ((16..=25).collect(), Some(true)));
            let (_, page) = get("before=16&limit=10").await;
            assert_eq!(seqs(&page), (6..=15).collect::<Vec<_>>());
            let (_, page) = get("before=6&limit=10").await;
            assert_eq!((seqs(&page), page["has_more"].as_bool()), ((1..=5).collect(), Some(false)));
            let (_, page) = get("after=3&before=8").await;
            assert_eq!((seqs(&page), page["has_more"].as_bool()), ((4..=7).collect(), Some(false)));
            let (_, page) = get("after=3&before=8&limit=2").await;
            assert_eq!((seqs(&page), page["has_more"].as_bool()), (vec![4, 5], Some(true)));
            let (_, page) = get("").await;
            assert_eq!(seqs(&page).len(), 25, "default page is 50");
            for bad in ["limit=201", "limit=0", "after=5&before=5", "after=-1", "limit=x", "from=3"] {
                let (status, body) = get(bad).await;
                assert_eq!(status, 400, "{bad}: {body}");
                assert_eq!(body["error"]["code"], "invalid_argument", "{bad}");
            }
            let (_, page) = get("limit=200").await;
            assert_eq!(seqs(&page).len(), 25);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn non_members_can_neither_send_nor_read() {
            let app = TestApp::spawn($kind).await;
            app.env.membership.set_members("g1", [ANN, BOB]);
            app.send(ANN, "g1", "m1", "members only").await;
            for conversation in [DIRECT, "g1", "g2"] {
                let path = format!("/v1/conversations/{conversation}/messages");
                let body = json!({"client_msg_id": "x1", "text": "let me in"});
                let (status, body) = app.call(EVE, Method::POST, &path, Some(body)).await;
                assert_eq!(status, 403, "{conversation}: {body}");
                assert_eq!(body["error"]["code"], "permission_denied");
                let (status, _) = app.call(EVE, Method::GET, &path, None).await;
                assert_eq!(status, 403, "{conversation}");
            }
            let err = app.local.send(send_request(EVE, "g1", "x2", "hi")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PermissionDenied);
            let page = app.all(ANN, "g1").await;
            assert_eq!((page.messages.len(), page.last_seq), (1, 1), "a refused send was stored");
            // Removed members lose access at once.
            app.env.membership.remove_member("g1", BOB);
            let path = "/v1/conversations/g1/messages";
            assert_eq!(app.call(BOB, Method::GET, path, None).await.0, 403);
            // No token, no access.
            let anonymous = app.rest.get(format!("{}{path}", app.http)).send().await.unwrap();
            assert_eq!(anonymous.status(), 401);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn bad_input_gets_a_typed_400_and_stores_nothing() {
            let app = TestApp::spawn($kind).await;
            let path = format!("/v1/conversations/{DIRECT}/messages");
            let cases = [
                json!({"client_msg_id": "m1", "text": "hi", "priority": "urgent"}),
                json!({"client_msg_id": "m1", "text": "x".repeat(4097)}),
                json!({"client_msg_id": "m1", "text": "nul\u{0}byte"}),
                json!({"client_msg_id": "m 1", "text": "hi"}),
                json!({"client_msg_id": "", "text": "hi"}),
                json!({"client_msg_id": "m1", "text": ""}),
                json!({"client_msg_id": "m1", "text": "hi", "mentions": (0..51).map(|i| format!("u{i}")).collect::<Vec<_>>()}),
                json!({"client_msg_id": "m1", "text": "hi", "attachments": ["../etc/passwd"]}),
                json!({"client_msg_id": "m1", "text": "hi", "reply_to_seq": 0}),
                json!({"client_msg_id": 7, "text": "hi"}),
            ];
            for body in cases {
                let (status, answer) = app.call(ANN, Method::POST, &path, Some(body.clone())).await;
                assert_eq!(status, 400, "{body}: {answer}");
                assert_eq!(answer["error"]["code"], "invalid_argument", "{body}");
            }
            let url = format!("{}{path}", app.http);
            let token = app.env.issuer.token(ANN, &[]);
            for raw in ["{not json", "[]", "", "{\"text\": \"hi\"}"] {
                let response = app.rest.post(&url).bearer_auth(&token)
                    .header("content-type", "application/json").body(raw).send().await.unwrap();
                assert_eq!(response.status(), 400, "{raw:?}");
            }
            let huge = json!({"client_msg_id": "m1", "text": "x".repeat(100_000)});
            let response = app.rest.post(&url).bearer_auth(&token).json(&huge).send().await.unwrap();
            assert_eq!(response.status(), 400, "oversized body");
            let bad_conversation = app.call(ANN, Method::GET, "/v1/conversations/a%23b/messages", None).await;
            assert_eq!(bad_conversation.0, 400, "{}", bad_conversation.1);
            let page = app.all(ANN, DIRECT).await;
            assert_eq!((page.messages.len(), page.last_seq), (0, 0));
            assert_eq!(app.local.send(send_request(ANN, DIRECT, "m1", "hi")).await.unwrap().seq, 1);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn grpc_serves_the_same_api_to_identified_services() {
            let app = TestApp::spawn($kind).await;
            let remote = app.grpc_client();
            let ack = remote.send(send_request(ANN, DIRECT, "g1", "over grpc")).await.unwrap();
            assert_eq!(ack.seq, 1);
            assert!(remote.send(send_request(ANN, DIRECT, "g1", "over grpc")).await.unwrap().duplicate);
            remote.edit(edit(ANN, "g2", 1, "edited over grpc")).await.unwrap();
            remote.react(react(BOB, "g3", 1, "🎉", false)).await.unwrap();
            let notice = SystemNotice {
                conversation_id: DIRECT.into(),
                client_msg_id: "evt-1".into(),
                text: "bob changed the topic".into(),
                mentions: vec![BOB.into()],
            };
            // Only the configured services post system notices.
            let denied = remote.send_system(notice.clone()).await.unwrap_err();
            assert_eq!(denied.kind(), ErrorKind::PermissionDenied, "{denied}");
            let groups = chatflow_message_router::GrpcRouterClient::connect_lazy(
                &app.grpc,
                $crate::app::identity("groups"),
            )
            .unwrap();
            let system = groups.send_system(notice).await.unwrap();
            assert_eq!(system.seq, 4);
            remote.delete(delete(ANN, "g5", 1)).await.unwrap();
            let page: HistoryPage = remote
                .history(HistoryRequest {
                    caller: Caller::new(BOB, "d"),
                    conversation_id: DIRECT.into(),
                    after_seq: Some(1),
                    before_seq: None,
                    limit: Some(10),
                })
                .await
                .unwrap();
            let kinds: Vec<MessageKind> = page.messages.iter().map(|m| m.kind).collect();
            assert_eq!(kinds, [MessageKind::Edit, MessageKind::Reaction, MessageKind::System, MessageKind::Delete]);
            assert_eq!(page.messages[2].sender_id, "system");
            // Paging forward from 0 over gRPC starts at the first message
            // (0 is a position, not "unset"); no bound pages back from the end.
            let from_start = |after_seq| HistoryRequest {
                caller: Caller::new(BOB, "d"),
                conversation_id: DIRECT.into(),
                after_seq,
                before_seq: None,
                limit: Some(2),
            };
            let first: Vec<u64> = remote.history(from_start(Some(0))).await.unwrap().messages.iter().map(|m| m.seq).collect();
            assert_eq!(first, [1, 2]);
            let last: Vec<u64> = remote.history(from_start(None)).await.unwrap().messages.iter().map(|m| m.seq).collect();
            assert_eq!(last, [4, 5]);
            let denied = remote.send(send_request(EVE, DIRECT, "g6", "hi")).await.unwrap_err();
            assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
            let invalid = remote.send(send_request(ANN, DIRECT, "bad id", "hi")).await.unwrap_err();
            assert_eq!(invalid.kind(), ErrorKind::InvalidArgument);

            // Without the service identity, or with another secret, nothing gets through.
            let stranger = chatflow_authn::ServiceIdentity::new(
                "gateway",
                &chatflow_runtime::Secret::new("another-secret-0123456789abcdefghij".to_owned()),
            )
            .unwrap();
            let forged = chatflow_message_router::GrpcRouterClient::connect_lazy(&app.grpc, stranger).unwrap();
            let err = forged.send(send_request(ANN, DIRECT, "g7", "hi")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
            let mut raw = chatflow_proto::messages::v1::router_service_client::RouterServiceClient::connect(app.grpc.clone())
                .await
                .unwrap();
            let status = raw.history(chatflow_proto::messages::v1::HistoryRequest::default()).await.unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert_eq!(app.all(ANN, DIRECT).await.last_seq, 5);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn acked_messages_survive_a_restart() {
            let env = TestEnv::new($kind).await;
            let app = TestApp::spawn_on(env.clone(), test_config(), env.membership.clone()).await;
            app.send(ANN, DIRECT, "m1", "before").await;
            app.send(BOB, DIRECT, "m2", "restart").await;
            app.stop().await;
            let direct = StaticMembership::direct_id(BOB, ANN);
            assert_eq!(direct, DIRECT);
            let app = TestApp::spawn_on(env.clone(), test_config(), env.membership.clone()).await;
            assert!(app.send(ANN, DIRECT, "m1", "before").await.duplicate);
            assert_eq!(app.send(ANN, DIRECT, "m3", "after").await.seq, 3);
            let texts: Vec<String> = app.all(BOB, DIRECT).await.messages.into_iter().map(|m| m.text).collect();
            assert_eq!(texts, ["before", "restart", "after"]);
            app.shutdown().await;
        }
    };
}
