//! What other services rely on: direct conversations, blocks, gRPC with
//! service identity, events, and the cache's invalidation. Written once per
//! backend family.

/// Instantiates the access tests for one backend kind.
#[macro_export]
macro_rules! access_suite {
    ($kind:expr) => {
        use std::sync::Arc;
        use std::time::{Duration, Instant};

        use chatflow_events::OutgoingRecord;
        use chatflow_groups::{MEMBERSHIP_CHANGED_TOPIC, USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC};
        use chatflow_groups_client::{
            Action, CacheOptions, CachedGroups, DenyReason, GroupsClient, GroupsClientRef, direct_conversation_id,
        };
        use chatflow_proto::groups::v1 as pb;
        use chatflow_proto::groups::v1::membership_changed::Kind;
        use chatflow_proto::profile::v1 as profile;
        use prost::Message;
        use reqwest::Method;
        use serde_json::json;
        use tokio_util::sync::CancellationToken;

        use $crate::app::{TestApp, changes, eventually};

        #[tokio::test]
        async fn direct_conversations_are_deterministic_and_created_once() {
            let app = TestApp::spawn($kind).await;
            let id = direct_conversation_id("ann", "bob").unwrap();
            assert_eq!(id, direct_conversation_id("bob", "ann").unwrap());
            let remote = app.grpc_client("message-router");
            let first = remote.ensure_direct("bob", "ann").await.unwrap();
            assert_eq!((first.conversation_id.as_str(), first.created), (id.as_str(), true));
            assert_eq!(first.member_ids, ["ann", "bob"]);
            let again = app.local.ensure_direct("ann", "bob").await.unwrap();
            assert_eq!((again.conversation_id.as_str(), again.created, again.membership_version), (id.as_str(), false, 1));
            let (status, rest) = app.call(Method::POST, "/v1/groups/direct", Some("ann"), Some(json!({"user_id": "bob"}))).await;
            assert_eq!((status, rest["id"].as_str(), rest["peer_id"].as_str()), (200, Some(id.as_str()), Some("bob")));
            // Concurrent first messages still make one conversation.
            let racers = (0..8).map(|i| {
                let local = app.local.clone();
                async move { local.ensure_direct(if i % 2 == 0 { "cy" } else { "dee" }, if i % 2 == 0 { "dee" } else { "cy" }).await.unwrap() }
            });
            let created = futures::future::join_all(racers).await.into_iter().filter(|c| c.created).count();
            assert_eq!(created, 1);
            let members = remote.members(&id).await.unwrap();
            assert_eq!((members.members.len(), members.membership_version), (2, 1));
            for action in [Action::Post, Action::Read] {
                assert!(remote.authorize("ann", &id, action).await.unwrap().allowed, "{action}");
            }
            let add = remote.authorize("ann", &id, Action::AddMembers).await.unwrap();
            assert_eq!(add.reason, Some(DenyReason::DirectConversation));
            assert_eq!(remote.authorize("eve", &id, Action::Read).await.unwrap().reason, Some(DenyReason::NotMember));
            let myself = remote.ensure_direct("ann", "ann").await.unwrap_err();
            assert_eq!(myself.kind, chatflow_errors::ErrorKind::InvalidArgument);
            // A direct conversation is not a group on the REST API.
            assert_eq!(app.get("ann", &id).await.0, 404);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn a_blocked_pair_cannot_post_until_unblocked() {
            let app = TestApp::spawn($kind).await;
            let id = app.local.ensure_direct("ann", "bob").await.unwrap().conversation_id;
            let cached = CachedGroups::spawn(app.local.clone(), app.backends.bus.clone(), CacheOptions::default(), app.stop.clone())
                .await
                .unwrap();
            assert!(cached.authorize("ann", &id, Action::Post).await.unwrap().allowed);
            let at = |s| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
            let blocked = profile::UserBlocked { blocker_id: "bob".into(), blocked_id: "ann".into(), blocked_at: at(2_000_000_000) };
            publish(&app, USER_BLOCKED_TOPIC, "bob", &blocked).await;
            // The consumer applies it (a real broker's group join takes seconds).
            eventually(Duration::from_secs(30), "block applied", || async {
                !app.local.authorize("ann", &id, Action::Post).await.unwrap().allowed
            }).await;
            let denied = app.local.authorize("bob", &id, Action::Post).await.unwrap();
            assert_eq!(denied.reason, Some(DenyReason::Blocked), "either direction");
            assert!(app.local.authorize("ann", &id, Action::Read).await.unwrap().allowed, "history stays readable");
            // The silent invalidation reaches caches too.
            eventually(Duration::from_secs(5), "cache invalidated by the block", || async {
                !cached.authorize("ann", &id, Action::Post).await.unwrap().allowed
            }).await;
            // An older unblock (out of order) changes nothing; a newer one lifts it.
            let stale = profile::UserUnblocked { blocker_id: "bob".into(), unblocked_id: "ann".into(), unblocked_at: at(1_000_000_000) };
            publish(&app, USER_UNBLOCKED_TOPIC, "bob", &stale).await;
            let lifted = profile::UserUnblocked { blocker_id: "bob".into(), unblocked_id: "ann".into(), unblocked_at: at(2_000_000_001) };
            publish(&app, USER_UNBLOCKED_TOPIC, "bob", &lifted).await;
            eventually(Duration::from_secs(30), "unblock applied", || async {
                cached.authorize("ann", &id, Action::Post).await.unwrap().allowed
            }).await;
            app.shutdown().await;
        }

        async fn publish(app: &TestApp, topic: &str, key: &str, message: &impl Message) {
            let envelope = chatflow_outbox_envelope(topic, key, message);
            app.backends.bus.publish(OutgoingRecord::new(topic, key.as_bytes(), envelope)).await.unwrap();
        }

        fn chatflow_outbox_envelope(topic: &str, key: &str, message: &impl Message) -> Vec<u8> {
            chatflow_proto::events::v1::EventEnvelope {
                id: uuid::Uuid::now_v7().to_string(),
                r#type: topic.to_owned(),
                source: "profile".to_owned(),
                time: Some(std::time::SystemTime::now().into()),
                subject: key.to_owned(),
                content_type: "application/protobuf".to_owned(),
                data: message.encode_to_vec(),
            }
            .encode_to_vec()
        }

        #[tokio::test]
        async fn grpc_requires_a_valid_service_identity() {
            let app = TestApp::spawn($kind).await;
            let id = app.group("olga", &["mia"]).await;
            let trusted = app.grpc_client("gateway");
            let answer = trusted.authorize("mia", &id, Action::Post).await.unwrap();
            assert!(answer.allowed);
            assert_eq!(answer.role, Some(chatflow_groups_client::Role::Member));
            let members = trusted.members(&id).await.unwrap();
            let names: Vec<_> = members.members.iter().map(|m| (m.user_id.as_str(), m.role.as_str())).collect();
            assert_eq!(names, [("mia", "member"), ("olga", "owner")]);
            let missing = trusted.members("g_0123456789abcdef0123456789abcdef").await.unwrap_err();
            assert_eq!(missing.kind, chatflow_errors::ErrorKind::NotFound);
            let bad = trusted.authorize("mia", "nonsense", Action::Read).await.unwrap_err();
            assert_eq!(bad.kind, chatflow_errors::ErrorKind::InvalidArgument);

            // Forged: signed with another secret.
            let forger = chatflow_authn::ServiceIdentity::new("gateway", &chatflow_runtime::Secret::new("x".repeat(40))).unwrap();
            let forged = chatflow_groups_client::GrpcGroupsClient::connect_lazy(&app.grpc, &forger).unwrap();
            let err = forged.authorize("mia", &id, Action::Post).await.unwrap_err();
            assert_eq!(err.kind, chatflow_errors::ErrorKind::Unauthenticated, "{err}");
            assert!(forged.ensure_direct("a", "b").await.is_err());
            // Missing: a plain client without the header.
            let mut plain = pb::groups_service_client::GroupsServiceClient::connect(app.grpc.clone()).await.unwrap();
            let status = plain.members(pb::MembersRequest { conversation_id: id.clone() }).await.unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            // Stale: an assertion from two minutes ago.
            let old = $crate::app::identity("gateway").assertion_at(chatflow_runtime::clock::now_ms() - 120_000);
            let mut request = tonic::Request::new(pb::MembersRequest { conversation_id: id.clone() });
            request.metadata_mut().insert(chatflow_authn::SERVICE_IDENTITY_HEADER, old.parse().unwrap());
            assert_eq!(plain.members(request).await.unwrap_err().code(), tonic::Code::Unauthenticated);
            let request = pb::AuthorizeRequest { user_id: "mia".into(), conversation_id: id.clone(), action: 0 };
            let mut request = tonic::Request::new(request);
            request.metadata_mut().insert(chatflow_authn::SERVICE_IDENTITY_HEADER, $crate::app::identity("gateway").assertion().parse().unwrap());
            assert_eq!(plain.authorize(request).await.unwrap_err().code(), tonic::Code::InvalidArgument, "unspecified action");
            assert_eq!(app.get("olga", &id).await.1["member_count"], 2, "nothing changed");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn a_removed_member_is_denied_by_caches_within_a_second() {
            let app = TestApp::spawn($kind).await;
            let stop = CancellationToken::new();
            // One cache over gRPC and one in process: two "nodes".
            let remote: GroupsClientRef = Arc::new(app.grpc_client("message-router"));
            let nodes = [
                CachedGroups::spawn(remote, app.backends.bus.clone(), CacheOptions::default(), stop.clone()).await.unwrap(),
                CachedGroups::spawn(app.local.clone(), app.backends.bus.clone(), CacheOptions::default(), stop.clone()).await.unwrap(),
            ];
            let mut seen: Vec<_> = nodes.iter().map(CachedGroups::invalidations).collect();
            let id = app.group("olga", &["mia", "max"]).await;
            // Let the creation event pass first, so it does not empty the caches below.
            for counter in &mut seen {
                tokio::time::timeout(Duration::from_secs(15), counter.wait_for(|n| *n >= 1)).await.unwrap().unwrap();
            }
            for node in &nodes {
                for action in [Action::Post, Action::Read] {
                    assert!(node.authorize("mia", &id, action).await.unwrap().allowed);
                }
                assert!(node.members(&id).await.unwrap().contains("mia"));
                assert!(node.len() >= 3, "answers are cached");
            }
            let (status, _) = app.call(Method::DELETE, &format!("/v1/groups/{id}/members/mia"), Some("olga"), None).await;
            assert_eq!(status, 200);
            let removed = Instant::now();
            for node in &nodes {
                eventually(Duration::from_secs(1), "removed member denied", || async {
                    let post = node.authorize("mia", &id, Action::Post).await.unwrap();
                    let read = node.authorize("mia", &id, Action::Read).await.unwrap();
                    !post.allowed && !read.allowed && !node.members(&id).await.unwrap().contains("mia")
                }).await;
            }
            assert!(removed.elapsed() < Duration::from_secs(1), "took {:?}", removed.elapsed());
            let after = nodes[0].authorize("mia", &id, Action::Post).await.unwrap();
            assert_eq!(after.reason, Some(DenyReason::NotMember));
            assert!(nodes[0].authorize("max", &id, Action::Post).await.unwrap().allowed);
            stop.cancel();
            app.shutdown().await;
        }

        #[tokio::test]
        async fn every_change_is_published_in_order_with_its_version() {
            let app = TestApp::spawn($kind).await;
            let mut sub = app.backends.bus.subscribe("groups-test-reader", &[MEMBERSHIP_CHANGED_TOPIC.to_owned()]).await.unwrap();
            let id = app.group("olga", &["mia"]).await;
            let path = |tail: &str| format!("/v1/groups/{id}{tail}");
            app.call(Method::POST, &path("/members"), Some("olga"), Some(json!({"user_ids": ["max", "kim"]}))).await;
            app.call(Method::PUT, &path("/members/mia/role"), Some("olga"), Some(json!({"role": "admin"}))).await;
            app.call(Method::PATCH, &path(""), Some("mia"), Some(json!({"version": 1, "name": "Renamed"}))).await;
            app.call(Method::DELETE, &path("/members/kim"), Some("mia"), None).await;
            app.call(Method::POST, &path("/leave"), Some("max"), None).await;
            app.call(Method::POST, &path("/leave"), Some("olga"), None).await;
            let seen = changes(&mut sub, &id, 8).await;
            let summary: Vec<(Kind, u64, &str, Vec<&str>)> = seen
                .iter()
                .map(|c| (c.kind(), c.membership_version, c.actor_id.as_str(), c.subject_ids.iter().map(String::as_str).collect()))
                .collect();
            assert_eq!(summary, [
                (Kind::Created, 1, "olga", vec!["olga", "mia"]),
                (Kind::MemberAdded, 2, "olga", vec!["kim", "max"]),
                (Kind::RoleChanged, 3, "olga", vec!["mia"]),
                (Kind::InfoChanged, 3, "mia", vec![]),
                (Kind::MemberRemoved, 4, "mia", vec!["kim"]),
                (Kind::MemberLeft, 5, "max", vec!["max"]),
                (Kind::OwnershipTransferred, 6, "olga", vec!["mia"]),
                (Kind::MemberLeft, 7, "olga", vec!["olga"]),
            ]);
            assert_eq!(seen[0].info.as_ref().unwrap().name, "Test group");
            assert_eq!(seen[0].conversation_kind(), pb::ConversationKind::Group);
            assert_eq!((seen[2].role(), seen[2].previous_role()), (pb::Role::Admin, pb::Role::Member));
            assert_eq!(seen[3].changed_fields, ["name"]);
            assert_eq!(seen[3].info.as_ref().unwrap().name, "Renamed");
            assert!(seen[6].owner_left && !seen[6].silent);
            assert_eq!(seen[7].member_count, 1);
            assert!(seen.iter().all(|c| c.time.is_some()));
            app.shutdown().await;
        }
    };
}
