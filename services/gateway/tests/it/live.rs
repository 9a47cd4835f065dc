//! Receipts, presence and typing through the gateway, written once per
//! backend family: acks batched and clamped, read marks, receipts after a
//! replay and live with privacy applied per viewer, typing only to online
//! members with its TTL, presence reports and watches, and ephemeral frames
//! never holding messages back.

/// Polls `check` until it holds or 10 s pass.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Instantiates the suite for one backend kind.
#[macro_export]
macro_rules! live_suite {
    ($kind:expr) => {
        use std::time::Duration;

        use chatflow_gateway::ports::{MemberMarks, PresenceView};
        use chatflow_gateway::protocol::ReceiptUpdate;
        use chatflow_gateway::registry::{NodeFrame, ReceiptDelivery, Registry};
        use chatflow_testkit::ws::Client;
        use serde_json::json;

        use $crate::app::{ALICE, BOB, CHAT, EVE, TestGateway, test_config};
        use $crate::live::eventually;

        #[tokio::test]
        async fn acks_are_clamped_to_what_was_delivered_and_batched_per_device() {
            let gw = TestGateway::spawn($kind).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            for text in ["a", "b", "c"] {
                gw.router.store(ALICE, text).await;
            }
            for _ in 0..3 {
                bob.recv_type("message").await;
            }
            for seq in [1, 2, 99] {
                bob.send(json!({"type": "ack", "conversation_id": CHAT, "seq": seq})).await;
            }
            // Not delivered on this connection: ignored.
            bob.send(json!({"type": "ack", "conversation_id": "g_other", "seq": 5})).await;
            eventually("bob's delivered mark reaches 3", || gw.receipts.marks_of(CHAT, BOB).0 == 3).await;
            let calls = gw.receipts.delivered_calls.lock().clone();
            assert!(calls.iter().all(|(_, marks)| marks.iter().all(|(c, s)| c == CHAT && *s <= 3)),
                "{calls:?}");
            assert!(calls.len() <= 2, "acks are batched: {calls:?}");
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn read_marks_answer_with_the_mark_and_refuse_unsent_or_foreign_messages() {
            let gw = TestGateway::spawn($kind).await;
            gw.router.store(ALICE, "one").await;
            gw.router.store(ALICE, "two").await;
            // Not delivered on this connection, but stored: checked against the store.
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            bob.send(json!({"type": "read", "id": "r1", "conversation_id": CHAT, "seq": 2})).await;
            let marked = bob.recv_type("marked").await;
            assert_eq!((marked["id"].as_str(), marked["read_seq"].as_u64()), (Some("r1"), Some(2)));
            assert_eq!(gw.receipts.marks_of(CHAT, BOB), (2, 2));
            bob.send(json!({"type": "read", "id": "r2", "conversation_id": CHAT, "seq": 50})).await;
            let error = bob.recv_type("error").await;
            assert_eq!((error["id"].as_str(), error["code"].as_str()), (Some("r2"), Some("conflict")));
            bob.send(json!({"type": "read", "id": "r3", "conversation_id": CHAT, "seq": 0})).await;
            assert_eq!(bob.recv_type("error").await["code"], "invalid_frame");
            assert_eq!(gw.receipts.marks_of(CHAT, BOB), (2, 2), "nothing moved");

            let (mut eve, _) = Client::hello(&gw.ws_url, &gw.token(EVE), json!({})).await;
            eve.send(json!({"type": "read", "id": "r4", "conversation_id": CHAT, "seq": 1})).await;
            assert_eq!(eve.recv_type("error").await["code"], "forbidden");
            assert_eq!(gw.receipts.marks_of(CHAT, EVE), (0, 0));
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_replay_is_followed_by_the_conversations_receipts() {
            let gw = TestGateway::spawn($kind).await;
            gw.router.store(ALICE, "one").await;
            gw.receipts.marks.lock().insert((CHAT.into(), BOB.into()), (1, 1));
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({CHAT: 0})).await;
            assert_eq!(alice.recv_type("replayed").await["seq"], 1);
            let receipts = alice.recv_type("receipts").await;
            assert_eq!(receipts["conversation_id"], CHAT);
            assert_eq!(receipts["members"], json!([{"user_id": BOB, "delivered_seq": 1, "read_seq": 1}]));
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn live_receipts_show_each_viewer_only_what_privacy_allows() {
            let gw = TestGateway::spawn($kind).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let node = node_of_user(&gw, ALICE).await;
            let receipt = |read_shared| NodeFrame::Receipt(ReceiptDelivery {
                recipients: vec![ALICE.into(), BOB.into()],
                update: ReceiptUpdate {
                    conversation_id: CHAT.into(),
                    marks: MemberMarks { user_id: BOB.into(), delivered_seq: 3, read_seq: Some(2) },
                    unread: Some(1),
                    total_unread: Some(4),
                },
                read_shared,
            });
            // Bob keeps reads private: Alice sees delivery only, Bob his own read and unread.
            node.send(node.node_id(), &receipt(false)).await.unwrap();
            let seen = alice.recv_type("receipt").await;
            assert_eq!(seen, json!({"type": "receipt", "conversation_id": CHAT, "user_id": BOB, "delivered_seq": 3}));
            let own = bob.recv_type("receipt").await;
            assert_eq!((own["read_seq"].as_u64(), own["unread"].as_u64(), own["total_unread"].as_u64()),
                (Some(2), Some(1), Some(4)));
            // Bob shares reads: Alice sees the read mark, never his unread counts.
            node.send(node.node_id(), &receipt(true)).await.unwrap();
            let seen = alice.recv_type("receipt").await;
            assert_eq!((seen["read_seq"].as_u64(), seen.get("unread")), (Some(2), None));
            // Alice turns reads off: she no longer sees Bob's.
            let off = NodeFrame::ReadsShared { user_id: ALICE.into(), reads_shared: false };
            node.send(node.node_id(), &off).await.unwrap();
            node.send(node.node_id(), &receipt(true)).await.unwrap();
            assert_eq!(alice.recv_type("receipt").await.get("read_seq"), None);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn typing_reaches_online_members_only_and_stops_by_itself() {
            let config = chatflow_gateway::Config { typing_ttl_ms: 400, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let (mut eve, _) = Client::hello(&gw.ws_url, &gw.token(EVE), json!({})).await;
            alice.send(json!({"type": "typing", "conversation_id": CHAT, "active": true})).await;
            let typing = bob.recv_type("typing").await;
            assert_eq!(typing, json!({"type": "typing", "conversation_id": CHAT, "user_id": ALICE,
                "active": true, "ttl_ms": 400}));
            // No repeat: the gateway says she stopped once the TTL ran out.
            let stopped = bob.recv_type("typing").await;
            assert_eq!((stopped["user_id"].as_str(), stopped["active"].as_bool()), (Some(ALICE), Some(false)));
            // Eve is not a member: she is refused and Alice hears nothing.
            eve.send(json!({"type": "typing", "conversation_id": CHAT, "active": true})).await;
            assert_eq!(eve.recv_type("error").await["code"], "forbidden");
            alice.send(json!({"type": "ping", "id": "p"})).await;
            assert_eq!(alice.recv().await["type"], "pong", "no typing frame reached alice");
            assert!(eve.try_next(Duration::from_millis(300)).await.is_none(), "eve saw no typing");
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_device_reports_its_presence_and_watches_others() {
            let gw = TestGateway::spawn($kind).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            alice.send(json!({"type": "presence", "status": "away"})).await;
            alice.send(json!({"type": "watch", "id": "w1", "conversation_id": CHAT})).await;
            let watching = alice.recv_type("watching").await;
            assert_eq!(watching["users"], json!([{"user_id": BOB, "status": "offline"}]));
            let sender = gw.presence.watchers.lock()[ALICE].clone();
            let view = PresenceView { user_id: BOB.into(), status: "online".into(), last_seen_ms: Some(5) };
            sender.send(view).await.unwrap();
            assert_eq!(alice.recv_type("presence").await,
                json!({"type": "presence", "user_id": BOB, "status": "online", "last_seen_ms": 5}));
            drop(alice);
            let reports = gw.presence.reports.clone();
            eventually("alice goes offline", || reports.lock().iter().any(|r| r.2 == "offline")).await;
            let statuses: Vec<&str> = reports.lock().iter().map(|r| r.2).collect();
            assert_eq!(statuses, ["online", "away", "offline"]);

            let (mut eve, _) = Client::hello(&gw.ws_url, &gw.token(EVE), json!({})).await;
            eve.send(json!({"type": "watch", "id": "w2", "conversation_id": CHAT})).await;
            assert_eq!(eve.recv_type("error").await["code"], "forbidden");
            let too_many: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
            eve.send(json!({"type": "watch", "id": "w3", "user_ids": too_many})).await;
            assert_eq!(eve.recv_type("error").await["code"], "invalid_frame");
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn an_idle_device_turns_away_by_itself_and_back_online_when_used() {
            let config = chatflow_gateway::Config { away_after_secs: 1, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let reports = gw.presence.reports.clone();
            eventually("alice turns away when idle", || reports.lock().len() >= 2).await;
            // Pings keep the connection, not the user, alive.
            alice.send(json!({"type": "ping", "id": "p"})).await;
            alice.recv_type("pong").await;
            alice.send(json!({"type": "send", "id": "s", "conversation_id": CHAT,
                "client_msg_id": "m-1", "text": "back"})).await;
            alice.recv_type("ack").await;
            let statuses: Vec<&str> = reports.lock().iter().map(|r| r.2).collect();
            assert_eq!(statuses, ["online", "away", "online"]);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_flood_of_ephemeral_frames_never_costs_a_message() {
            let config = chatflow_gateway::Config { ephemeral_queue: 2, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let node = node_of_user(&gw, BOB).await;
            let typing = json!({"type": "typing", "conversation_id": CHAT, "user_id": ALICE,
                "active": true, "ttl_ms": 1}).to_string();
            for round in 0..20 {
                for _ in 0..50 {
                    let frame = NodeFrame::Ephemeral { recipients: vec![BOB.into()], frame: typing.clone() };
                    node.send(node.node_id(), &frame).await.unwrap();
                }
                gw.router.store(ALICE, &format!("m{round}")).await;
            }
            let mut seqs = Vec::new();
            let mut ephemeral = 0;
            while seqs.len() < 20 {
                let frame = bob.recv().await;
                match frame["type"].as_str() {
                    Some("message") => seqs.push(frame["message"]["seq"].as_u64().unwrap()),
                    Some("typing") => ephemeral += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(seqs, (1..=20).collect::<Vec<u64>>(), "every message, in order");
            assert!(ephemeral <= 1000);
            gw.shutdown().await;
        }

        async fn node_of_user(gw: &TestGateway, user: &str) -> Registry {
            let nodes = Registry::new(gw.cache.clone(), "test".into(), Duration::from_secs(60))
                .nodes_of(user)
                .await
                .unwrap();
            Registry::new(gw.cache.clone(), nodes[0].clone(), Duration::from_secs(60))
        }
    };
}
