//! Writes: acks only after storage, idempotent retries, gapless seqs across
//! two instances, edits with history, delete tombstones, reactions.

/// Instantiates the write tests for one backend kind.
#[macro_export]
macro_rules! write_suite {
    ($kind:expr) => {
        use std::collections::BTreeSet;

        use chatflow_errors::{ErrorKind, HasKind};
        use chatflow_message_router::{
            Caller, DeleteRequest, EditRequest, MessageKind, ReactRequest, Reaction,
            RouterClientRef, VersionsRequest,
        };
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::{ANN, BOB, DIRECT, TestApp, TestEnv, send_request, test_config};

        fn edit(user: &str, id: &str, target_seq: u64, text: &str) -> EditRequest {
            EditRequest {
                caller: Caller::new(user, "d1"),
                conversation_id: DIRECT.into(),
                client_msg_id: id.into(),
                target_seq,
                text: text.into(),
            }
        }

        fn delete(user: &str, id: &str, target_seq: u64) -> DeleteRequest {
            DeleteRequest {
                caller: Caller::new(user, "d1"),
                conversation_id: DIRECT.into(),
                client_msg_id: id.into(),
                target_seq,
            }
        }

        fn react(user: &str, id: &str, target_seq: u64, emoji: &str, removed: bool) -> ReactRequest {
            ReactRequest {
                caller: Caller::new(user, "d1"),
                conversation_id: DIRECT.into(),
                client_msg_id: id.into(),
                target_seq,
                reaction: Reaction { emoji: emoji.into(), removed },
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_ack_means_the_message_is_readable() {
            let app = TestApp::spawn($kind).await;
            let path = format!("/v1/conversations/{DIRECT}/messages");
            let body = json!({"client_msg_id": "m1", "text": "hello", "mentions": ["bob"], "attachments": ["f1"]});
            let (status, ack) = app.call(ANN, Method::POST, &path, Some(body)).await;
            assert_eq!(status, 201, "{ack}");
            assert_eq!((ack["seq"].as_u64(), ack["duplicate"].as_bool()), (Some(1), Some(false)));
            // Right after the ack, the other member reads it.
            let (status, page) = app.call(BOB, Method::GET, &format!("{path}?after=0"), None).await;
            assert_eq!(status, 200, "{page}");
            let message = &page["messages"][0];
            assert_eq!((message["seq"].as_u64(), message["text"].as_str()), (Some(1), Some("hello")));
            assert_eq!((message["sender_id"].as_str(), message["kind"].as_str()), (Some(ANN), Some("text")));
            assert_eq!(message["server_ts_ms"], ack["server_ts_ms"]);
            assert_eq!((message["mentions"][0].as_str(), message["attachments"][0].as_str()), (Some("bob"), Some("f1")));
            assert_eq!(page["last_seq"], 1);
            // A reply to it is fine; a reply to a message that does not exist is not.
            let reply = json!({"client_msg_id": "m2", "text": "hi!", "reply_to_seq": 1});
            let (status, ack) = app.call(BOB, Method::POST, &path, Some(reply)).await;
            assert_eq!((status, ack["seq"].as_u64()), (201, Some(2)));
            let dangling = json!({"client_msg_id": "m3", "text": "?", "reply_to_seq": 3});
            let (status, body) = app.call(BOB, Method::POST, &path, Some(dangling)).await;
            assert_eq!(status, 400, "{body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("reply_to_seq 3"), "{body}");
            assert_eq!(app.all(ANN, DIRECT).await.last_seq, 2);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_retry_returns_the_original_ack_and_stores_nothing() {
            let app = TestApp::spawn($kind).await;
            let first = app.send(ANN, DIRECT, "m1", "hello").await;
            app.send(BOB, DIRECT, "m1", "same id, other sender").await;
            let again = app.local.send(send_request(ANN, DIRECT, "m1", "hello")).await.unwrap();
            assert!(again.duplicate && !first.duplicate);
            assert_eq!((again.seq, again.server_ts_ms), (first.seq, first.server_ts_ms));
            let path = format!("/v1/conversations/{DIRECT}/messages");
            let (status, ack) = app
                .call(ANN, Method::POST, &path, Some(json!({"client_msg_id": "m1", "text": "hello"})))
                .await;
            assert_eq!((status, ack["seq"].as_u64(), ack["duplicate"].as_bool()), (200, Some(1), Some(true)));
            // The same id for different content is a client bug, not a retry.
            let (status, body) = app
                .call(ANN, Method::POST, &path, Some(json!({"client_msg_id": "m1", "text": "other"})))
                .await;
            assert_eq!(status, 409, "{body}");
            let page = app.all(BOB, DIRECT).await;
            assert_eq!(page.messages.len(), 2);
            assert_eq!(page.last_seq, 2);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_write_that_cannot_start_in_time_is_refused_unstored() {
            // No time to wait at all: every write is past its deadline when a
            // worker takes it, as under a backlog that outgrew the bound.
            let env = TestEnv::new($kind).await;
            let mut config = test_config();
            config.lanes.max_wait_ms = 0;
            let membership = env.membership.clone();
            let app = TestApp::spawn_on(env, config, membership).await;
            let err = app.local.send(send_request(ANN, DIRECT, "m1", "hello")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert!(err.is_retriable() && err.to_string().contains("backlogged"), "{err}");
            let path = format!("/v1/conversations/{DIRECT}/messages");
            let (status, body) = app
                .call(ANN, Method::POST, &path, Some(json!({"client_msg_id": "m2", "text": "hi"})))
                .await;
            assert_eq!(status, 503, "{body}");
            assert_eq!(app.all(BOB, DIRECT).await.last_seq, 0, "nothing was stored");
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_senders_on_two_instances_get_gapless_seqs() {
            const SENDERS: usize = 40;
            let env = TestEnv::new($kind).await;
            let first = TestApp::spawn_on(env.clone(), test_config(), env.membership.clone()).await;
            let second = TestApp::spawn_on(env.clone(), test_config(), env.membership.clone()).await;
            let mut events = env.subscribe().await;
            let send_all = |round: &'static str| {
                let clients: [RouterClientRef; 2] = [first.local.clone(), second.local.clone()];
                let tasks = (0..SENDERS).map(move |i| {
                    let client = clients[i % 2].clone();
                    let user = if i % 3 == 0 { BOB } else { ANN };
                    tokio::spawn(async move {
                        let request = send_request(user, DIRECT, &format!("c{i}"), &format!("{round} {i}"));
                        // A client retries retriable errors with the same id.
                        loop {
                            match client.send(request.clone()).await {
                                Ok(ack) => return (i, ack),
                                Err(err) if err.is_retriable() => continue,
                                Err(err) => panic!("send {i}: {err}"),
                            }
                        }
                    })
                });
                futures::future::join_all(tasks)
            };
            let acks: Vec<_> = send_all("first").await.into_iter().map(Result::unwrap).collect();
            let mut seqs: Vec<u64> = acks.iter().map(|(_, ack)| ack.seq).collect();
            seqs.sort_unstable();
            assert_eq!(seqs, (1..=SENDERS as u64).collect::<Vec<_>>(), "gaps or duplicates");
            assert!(acks.iter().all(|(_, ack)| !ack.duplicate));

            // The same burst again is all retries: same acks, nothing new.
            let retries: Vec<_> = send_all("first").await.into_iter().map(Result::unwrap).collect();
            for ((i, ack), (j, again)) in acks.iter().zip(&retries) {
                assert_eq!(i, j);
                assert!(again.duplicate);
                assert_eq!(again.seq, ack.seq);
            }
            let page = first.all(ANN, DIRECT).await;
            let stored: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
            assert_eq!(stored, (1..=SENDERS as u64).collect::<Vec<_>>());
            let ids: BTreeSet<&str> = page.messages.iter().map(|m| m.client_msg_id.as_str()).collect();
            assert_eq!(ids.len(), SENDERS, "a client_msg_id stored twice");
            let timestamps: Vec<i64> = page.messages.iter().map(|m| m.server_ts_ms).collect();
            assert!(timestamps.windows(2).all(|w| w[0] <= w[1]), "time goes back: {timestamps:?}");

            // Both relays share the outbox; the bus gets every event once, in seq order.
            let published = $crate::app::collect(&mut events, SENDERS).await;
            let order: Vec<u64> = published.iter().map(|e| e.message.seq).collect();
            assert_eq!(order, (1..=SENDERS as u64).collect::<Vec<_>>());
            second.stop().await;
            first.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn edits_take_seqs_and_keep_every_version() {
            let app = TestApp::spawn($kind).await;
            app.send(ANN, DIRECT, "m1", "helo").await;
            assert_eq!(app.local.edit(edit(ANN, "e1", 1, "hello")).await.unwrap().seq, 2);
            assert_eq!(app.local.edit(edit(ANN, "e2", 1, "hello!")).await.unwrap().seq, 3);
            let retry = app.local.edit(edit(ANN, "e2", 1, "hello!")).await.unwrap();
            assert!(retry.duplicate && retry.seq == 3);
            let denied = app.local.edit(edit(BOB, "e3", 1, "hijack")).await.unwrap_err();
            assert_eq!(denied.kind(), ErrorKind::PermissionDenied, "{denied}");
            let missing = app.local.edit(edit(ANN, "e4", 9, "x")).await.unwrap_err();
            assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
            let of_edit = app.local.edit(edit(ANN, "e5", 2, "x")).await.unwrap_err();
            assert_eq!(of_edit.kind(), ErrorKind::InvalidArgument, "{of_edit}");

            let versions = app
                .local
                .versions(VersionsRequest { caller: Caller::new(BOB, "d"), conversation_id: DIRECT.into(), seq: 1 })
                .await
                .unwrap();
            let texts: Vec<&str> = versions.iter().map(|m| m.text.as_str()).collect();
            assert_eq!(texts, ["helo", "hello", "hello!"]);
            let page = app.all(BOB, DIRECT).await;
            assert_eq!(page.messages[0].edit_seqs, [2, 3]);
            assert_eq!(page.messages[0].text, "helo", "the original stays as sent");
            assert_eq!((page.messages[2].kind, page.messages[2].target_seq), (MessageKind::Edit, Some(1)));
            let (status, body) = app
                .call(BOB, Method::GET, &format!("/v1/conversations/{DIRECT}/messages/1/versions"), None)
                .await;
            assert_eq!((status, body["versions"].as_array().map(Vec::len)), (200, Some(3)));
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_delete_is_a_tombstone_with_its_own_seq() {
            let app = TestApp::spawn($kind).await;
            app.send(ANN, DIRECT, "m1", "secret").await;
            app.local.edit(edit(ANN, "e1", 1, "secret2")).await.unwrap();
            app.send(BOB, DIRECT, "m3", "what?").await;
            let denied = app.local.delete(delete(BOB, "x1", 1)).await.unwrap_err();
            assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
            let path = format!("/v1/conversations/{DIRECT}/messages/1?client_msg_id=del1");
            let (status, ack) = app.call(ANN, Method::DELETE, &path, None).await;
            assert_eq!((status, ack["seq"].as_u64()), (201, Some(4)), "{ack}");

            let page = app.all(BOB, DIRECT).await;
            let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, [1, 2, 3, 4]);
            for blanked in &page.messages[..2] {
                assert_eq!((blanked.text.as_str(), blanked.deleted_by_seq), ("", Some(4)));
            }
            assert_eq!(page.messages[2].text, "what?");
            let tombstone = &page.messages[3];
            assert_eq!((tombstone.kind, tombstone.target_seq, tombstone.sender_id.as_str()), (MessageKind::Delete, Some(1), ANN));
            // A deleted message takes no edit, delete or reaction; retries still get their ack.
            for err in [
                app.local.edit(edit(ANN, "e2", 1, "again")).await.unwrap_err(),
                app.local.delete(delete(ANN, "del2", 1)).await.unwrap_err(),
                app.local.react(react(BOB, "r1", 1, "👍", false)).await.unwrap_err(),
            ] {
                assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
            }
            assert!(app.local.delete(delete(ANN, "del1", 1)).await.unwrap().duplicate);
            assert!(app.local.edit(edit(ANN, "e1", 1, "secret2")).await.unwrap().duplicate);
            assert_eq!(app.all(ANN, DIRECT).await.last_seq, 4);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn reactions_take_seqs_in_the_same_order() {
            let app = TestApp::spawn($kind).await;
            app.send(ANN, DIRECT, "m1", "lunch?").await;
            assert_eq!(app.local.react(react(BOB, "r1", 1, "👍", false)).await.unwrap().seq, 2);
            let path = format!("/v1/conversations/{DIRECT}/messages/1/reactions");
            let (status, ack) = app
                .call(ANN, Method::POST, &path, Some(json!({"client_msg_id": "r2", "emoji": "❤️"})))
                .await;
            assert_eq!((status, ack["seq"].as_u64()), (201, Some(3)), "{ack}");
            assert_eq!(app.local.react(react(BOB, "r3", 1, "👍", true)).await.unwrap().seq, 4);
            let bad = app.local.react(react(BOB, "r4", 1, "not an emoji", false)).await.unwrap_err();
            assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
            let on_reaction = app.local.react(react(BOB, "r5", 2, "👍", false)).await.unwrap_err();
            assert_eq!(on_reaction.kind(), ErrorKind::InvalidArgument, "{on_reaction}");
            let page = app.all(ANN, DIRECT).await;
            let reactions: Vec<(u64, &str, bool)> = page.messages[1..]
                .iter()
                .map(|m| {
                    let r = m.reaction.as_ref().unwrap();
                    (m.target_seq.unwrap(), r.emoji.as_str(), r.removed)
                })
                .collect();
            assert_eq!(reactions, [(1, "👍", false), (1, "❤️", false), (1, "👍", true)]);
            app.shutdown().await;
        }
    };
}
