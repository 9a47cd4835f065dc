//! The gateway's behaviour, written once per backend family.

/// Instantiates the suite for one backend kind.
#[macro_export]
macro_rules! gateway_suite {
    ($kind:expr) => {
        use serde_json::json;

        use $crate::app::{ALICE, BOB, CHAT, EVE, TestGateway, test_config};
        use chatflow_testkit::ws::Client;

        fn send(id: &str, client_msg_id: &str, text: &str) -> serde_json::Value {
            json!({"type": "send", "id": id, "conversation_id": CHAT, "client_msg_id": client_msg_id, "text": text})
        }

        #[tokio::test]
        async fn hello_opens_a_session_with_the_token_in_either_place() {
            let gw = TestGateway::spawn($kind).await;
            let (mut alice, welcome) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            assert_eq!((welcome["id"].as_str(), welcome["user_id"].as_str(), welcome["protocol"].as_u64()),
                (Some("h1"), Some(ALICE), Some(1)));
            alice.send(json!({"type": "ping", "id": "p1"})).await;
            assert_eq!(alice.recv().await, json!({"type": "pong", "id": "p1"}));
            let mut bob = Client::connect(&gw.ws_url, None).await;
            bob.send(json!({"type": "hello", "id": "h2", "token": gw.token(BOB)})).await;
            assert_eq!(bob.recv().await["user_id"], BOB);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn bad_or_missing_tokens_and_a_missing_hello_close_with_clear_codes() {
            let gw = TestGateway::spawn($kind).await;
            let forged = chatflow_testkit::tokens::TestIssuer::new().token(ALICE, &[]);
            let mut client = Client::connect(&gw.ws_url, Some(&forged)).await;
            client.send(json!({"type": "hello", "id": "h1"})).await;
            let error = client.recv().await;
            assert_eq!((error["code"].as_str(), error["id"].as_str()), (Some("unauthenticated"), Some("h1")));
            assert_eq!(client.closed().await.0, 4001);

            let mut expired = gw.issuer.claims(ALICE, vec!["user".into()]);
            expired.exp -= 3600;
            let mut client = Client::connect(&gw.ws_url, Some(&gw.issuer.sign(&expired))).await;
            client.send(json!({"type": "hello", "id": "h1"})).await;
            assert_eq!(client.closed().await.0, 4001);

            let mut client = Client::connect(&gw.ws_url, None).await;
            client.send(json!({"type": "hello", "id": "h1"})).await;
            assert_eq!(client.closed().await.0, 4001, "no token anywhere");

            let mut client = Client::connect(&gw.ws_url, Some(&gw.token(ALICE))).await;
            client.send(json!({"type": "ping", "id": "p0"})).await;
            assert_eq!(client.recv().await["code"], "not_ready");
            assert_eq!(client.closed().await.0, 4000);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn malformed_oversized_and_unknown_frames_get_typed_errors_and_harm_no_one() {
            let gw = TestGateway::spawn($kind).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let huge = json!({"type": "ping", "id": "big", "pad": "x".repeat(70_000)}).to_string();
            let cases = [
                ("{not json".to_owned(), "invalid_frame", None),
                (json!({"type": "teleport", "id": "t1"}).to_string(), "unknown_type", Some("t1")),
                (json!({"type": "ping", "id": "u1", "extra": true}).to_string(), "invalid_frame", Some("u1")),
                (json!({"type": "send", "id": "s0", "conversation_id": CHAT, "text": "no client id"}).to_string(), "invalid_frame", Some("s0")),
                (json!({"type": "send", "id": "s1", "conversation_id": "bad id!", "client_msg_id": "m", "text": "x"}).to_string(), "invalid_frame", Some("s1")),
                (huge, "too_large", None),
            ];
            for (text, code, id) in cases {
                alice.send_text(text).await;
                let error = alice.recv().await;
                assert_eq!((error["type"].as_str(), error["code"].as_str(), error["id"].as_str()),
                    (Some("error"), Some(code), id), "{error}");
            }
            // Not a member: typed, and nothing is stored.
            let (mut eve, _) = Client::hello(&gw.ws_url, &gw.token(EVE), json!({})).await;
            eve.send(send("e1", "m-e", "let me in")).await;
            assert_eq!(eve.recv().await["code"], "forbidden");
            // Every session is still fine, and bob sees only real traffic.
            alice.send(send("s2", "m-1", "still here")).await;
            assert_eq!(alice.recv_type("ack").await["seq"], 1);
            let message = bob.recv().await;
            assert_eq!((message["type"].as_str(), message["message"]["seq"].as_u64()), (Some("message"), Some(1)));
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn sends_are_acked_and_reach_every_device_in_order_once() {
            let gw = TestGateway::spawn($kind).await;
            let (mut phone, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let (mut laptop, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            for i in 1..=3 {
                phone.send(send(&format!("s{i}"), &format!("m-{i}"), &format!("hello {i}"))).await;
                let ack = phone.recv_type("ack").await;
                assert_eq!((ack["id"].as_str(), ack["seq"].as_u64(), ack["duplicate"].as_bool()),
                    (Some(format!("s{i}").as_str()), Some(i), Some(false)));
            }
            // A retry with the same client id is the original ack.
            phone.send(send("again", "m-2", "hello 2")).await;
            let ack = phone.recv_type("ack").await;
            assert_eq!((ack["seq"].as_u64(), ack["duplicate"].as_bool()), (Some(2), Some(true)));
            for device in [&mut laptop, &mut bob] {
                let mut seqs = Vec::new();
                while seqs.len() < 3 {
                    seqs.push(device.recv_type("message").await["message"]["seq"].as_u64().unwrap());
                }
                assert_eq!(seqs, [1, 2, 3]);
            }
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn resume_replays_then_live_follows_without_gap_or_duplicate() {
            let gw = TestGateway::spawn($kind).await;
            for i in 1..=5 {
                gw.router.store(ALICE, &format!("old {i}")).await;
            }
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({CHAT: 2})).await;
            let mut seqs = Vec::new();
            loop {
                let frame = bob.recv().await;
                match frame["type"].as_str() {
                    Some("message") => seqs.push(frame["message"]["seq"].as_u64().unwrap()),
                    Some("replayed") => {
                        assert_eq!((frame["id"].as_str(), frame["seq"].as_u64()), (Some("h1"), Some(5)));
                        break;
                    }
                    other => panic!("unexpected {other:?}: {frame}"),
                }
            }
            assert_eq!(seqs, [3, 4, 5], "replay after position 2, pages of 2");
            // A redelivery at the seam is dropped; a lost delivery is filled in.
            gw.router.fan_out_again(5).await;
            gw.router.hold_fanout.store(true, std::sync::atomic::Ordering::SeqCst);
            gw.router.store(ALICE, "lost on the way").await;
            gw.router.hold_fanout.store(false, std::sync::atomic::Ordering::SeqCst);
            gw.router.store(ALICE, "arrives").await;
            let live: Vec<u64> = vec![
                bob.recv_type("message").await["message"]["seq"].as_u64().unwrap(),
                bob.recv_type("message").await["message"]["seq"].as_u64().unwrap(),
            ];
            assert_eq!(live, [6, 7]);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_slow_consumer_is_told_to_resume_later_and_never_slows_others() {
            let config = chatflow_gateway::Config { send_queue: 8, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let (mut slow, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let (mut fast, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let text = "x".repeat(16 * 1024);
            // The slow device reads nothing while enough traffic to fill its
            // socket buffers and its queue goes by; the fast one keeps up.
            for i in 1..=600u64 {
                gw.router.store(ALICE, &text).await;
                let seq = fast.recv_type("message").await["message"]["seq"].as_u64().unwrap();
                assert_eq!(seq, i);
            }
            assert_eq!(slow.closed().await.0, 4008);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_token_expiring_mid_session_gets_a_refresh_window_then_a_close() {
            let config = chatflow_gateway::Config { refresh_window_secs: 1, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let mut short = gw.issuer.claims(ALICE, vec!["user".into()]);
            short.exp = short.iat + 1;
            let (mut refreshed, _) = Client::hello(&gw.ws_url, &gw.issuer.sign(&short), json!({})).await;
            let (mut lapsed, _) = Client::hello(&gw.ws_url, &gw.issuer.sign(&short), json!({})).await;
            assert_eq!(refreshed.recv_type("token_expiring").await["close_in_secs"], 1);
            let mut renewed = gw.issuer.claims(ALICE, vec!["user".into()]);
            renewed.sid = short.sid.clone();
            refreshed.send(json!({"type": "refresh", "id": "t1", "token": gw.issuer.sign(&renewed)})).await;
            assert_eq!(refreshed.recv_type("refreshed").await["expires_at"], renewed.exp);
            assert_eq!(lapsed.recv_type("token_expiring").await["type"], "token_expiring");
            assert_eq!(lapsed.closed().await.0, 4001);
            refreshed.send(json!({"type": "ping", "id": "still"})).await;
            assert_eq!(refreshed.recv_type("pong").await["id"], "still");
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_revoked_session_is_closed_within_the_revalidation_period() {
            let config = chatflow_gateway::Config { revalidate_secs: 1, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let claims = gw.issuer.claims(ALICE, vec!["user".into()]);
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.issuer.sign(&claims), json!({})).await;
            gw.cache.set(&chatflow_authn::claims::revoked_session_key(&claims.sid), b"1", None).await.unwrap();
            assert_eq!(alice.closed().await.0, 4003);
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn a_users_revocation_cutoff_closes_older_sessions_in_the_nodes_sweep() {
            let config = chatflow_gateway::Config { revalidate_secs: 1, ..test_config() };
            let gw = TestGateway::spawn_with($kind, config).await;
            let claims = gw.issuer.claims(ALICE, vec!["user".into()]);
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.issuer.sign(&claims), json!({})).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            let cutoff = claims.iat.to_string();
            gw.cache.set(&chatflow_authn::claims::revoked_before_key(ALICE), cutoff.as_bytes(), None).await.unwrap();
            assert_eq!(alice.closed().await.0, 4003);
            bob.send(json!({"type": "ping", "id": "p1"})).await;
            assert_eq!(bob.recv_type("pong").await["id"], "p1", "another user's session stays");
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn frames_far_larger_than_the_read_buffer_are_read_whole_and_oversized_ones_end_only_their_connection() {
            let gw = TestGateway::spawn($kind).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let (mut bob, _) = Client::hello(&gw.ws_url, &gw.token(BOB), json!({})).await;
            // 40 KiB of text: forty times the read buffer, within max_frame_bytes.
            let text = "y".repeat(40 * 1024);
            assert!(text.len() > 8 * chatflow_gateway::READ_BUFFER_BYTES);
            alice.send(send("big", "m-big", &text)).await;
            assert_eq!(alice.recv_type("ack").await["seq"], 1);
            let message = bob.recv_type("message").await;
            assert_eq!(message["message"]["text"].as_str().map(str::len), Some(text.len()));
            // Past four times max_frame_bytes the WebSocket layer refuses the
            // frame itself, without buffering it.
            alice.send_text("z".repeat(300 * 1024)).await;
            alice.closed().await;
            bob.send(json!({"type": "ping", "id": "p1"})).await;
            assert_eq!(bob.recv_type("pong").await["id"], "p1");
            gw.shutdown().await;
        }

        #[tokio::test]
        async fn drain_sends_a_jittered_reconnect_hint_then_closes() {
            let gw = TestGateway::spawn($kind).await;
            let (mut alice, _) = Client::hello(&gw.ws_url, &gw.token(ALICE), json!({})).await;
            let url = gw.ws_url.clone();
            gw.stop.cancel();
            let drain = alice.recv_type("drain").await;
            assert!(drain["reconnect_after_ms"].as_u64().unwrap() < 500, "{drain}");
            assert_eq!(alice.closed().await.0, 1001);
            tokio::time::timeout(std::time::Duration::from_secs(15), gw.task).await.unwrap().unwrap().unwrap();
            let refused = tokio_tungstenite::connect_async(url.as_str()).await;
            assert!(refused.is_err(), "a drained node accepted a connection");
        }
    };
}
