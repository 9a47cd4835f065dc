//! Discovery, the directory consumer, the rate limit and blocks, written
//! once per backend family.

/// Instantiates the discovery and block tests for one backend kind.
#[macro_export]
macro_rules! social_suite {
    ($kind:expr) => {
        use chatflow_profile::{USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC};
        use chatflow_proto::auth::v1 as auth;
        use chatflow_proto::profile::v1 as pb;
        use chatflow_rate_limit::PolicySpec;
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::{TestApp, next_event, test_config};

        #[tokio::test]
        async fn directory_is_built_from_account_verified_and_discovery_respects_consent() {
            let app = TestApp::spawn($kind).await;
            let (alice, alice_token) = app.user();
            let (bob, bob_token) = app.user();
            let (carol, carol_token) = app.user();
            let (requester, token) = app.user_named("Requester").await;
            app.publish_verified(&alice, auth::Channel::Email, "alice@example.com").await;
            app.publish_verified(&bob, auth::Channel::Sms, "+14155550123").await;
            app.publish_verified(&carol, auth::Channel::Email, "Carol@Example.com").await;
            app.publish_verified(&requester, auth::Channel::Email, "me@example.com").await;
            // A redelivery and a poison message change nothing.
            app.publish_verified(&alice, auth::Channel::Email, "alice@example.com").await;
            app.publish_raw(&alice, b"not an envelope".to_vec()).await;
            for user in [&alice, &bob, &carol, &requester] {
                app.wait_for_profile(user).await;
            }
            let directory = app.rows("SELECT identifier_hash, key_id, user_id FROM directory").await;
            assert_eq!(directory.len(), 4, "{directory:?}");
            for row in &directory {
                assert!(row.iter().all(|v| !v.contains('@') && !v.contains("4155550123")), "identifier stored: {row:?}");
            }
            assert!(directory.iter().any(|r| r[0] == app.hash("carol@example.com")), "emails are lower-cased");

            let (status, key) = app.get("/v1/contacts/discovery/key", &token).await;
            assert_eq!(status, 200);
            assert_eq!((key["key_id"].as_str(), key["key"].as_str(), key["algorithm"].as_str(), key["max_batch"].as_u64()),
                (Some(app.key.id()), Some($crate::app::KEY), Some("HMAC-SHA256"), Some(1000)));

            app.set_privacy(&bob_token, json!({"last_seen": "contacts", "avatar": "everyone", "about": "everyone", "discovery": "contacts"})).await;
            app.set_privacy(&carol_token, json!({"last_seen": "contacts", "avatar": "everyone", "about": "everyone", "discovery": "nobody"})).await;
            let book: Vec<String> = ["alice@example.com", "+14155550123", "carol@example.com", "me@example.com", "nobody@example.com"]
                .iter().map(|i| app.hash(i)).collect();
            let upper: Vec<String> = book.iter().map(|h| h.to_uppercase()).collect();
            let (status, answer, _) = app.discover(&token, &upper).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["matches"], json!([{"hash": book[0], "user_id": alice}]), "only consenting users, never yourself");
            assert_eq!(answer["budget_remaining"], 995);

            // "contacts": Bob is found once he has the requester as a contact.
            assert_eq!(app.put(&format!("/v1/contacts/{requester}"), &bob_token).await, 204);
            assert_eq!(app.discovered(&token, &book).await, vec![alice.clone(), bob.clone()]);
            let (_, contacts) = app.get("/v1/contacts", &token).await;
            let found: Vec<(&str, &str)> = contacts["items"].as_array().unwrap().iter()
                .map(|c| (c["user_id"].as_str().unwrap(), c["source"].as_str().unwrap())).collect();
            let mut want = vec![(alice.as_str(), "discovery"), (bob.as_str(), "discovery")];
            want.sort();
            assert_eq!(found, want, "matches become the requester's contacts");

            // A block hides Alice from discovery and her profile from the requester.
            assert_eq!(app.put(&format!("/v1/blocks/{requester}"), &alice_token).await, 204);
            assert_eq!(app.discovered(&token, &book).await, vec![bob.clone()]);
            let (status, body) = app.get(&format!("/v1/profiles/{alice}"), &token).await;
            assert_eq!((status, body["error"]["message"].as_str()), (404, Some("no such profile")), "same as a missing profile");
            assert_eq!(app.put(&format!("/v1/contacts/{alice}"), &token).await, 404);
            assert_eq!(app.get(&format!("/v1/profiles/{requester}"), &alice_token).await.0, 200, "the blocker still sees");

            // The poison message went to the dead-letter topic.
            let mut dlq = app.subscribe(&chatflow_events::dead_letter_topic(chatflow_profile::ACCOUNT_VERIFIED_TOPIC)).await;
            let dead = tokio::time::timeout(std::time::Duration::from_secs(30), dlq.next()).await.expect("no dead letter").unwrap();
            assert_eq!(dead.payload.as_ref(), b"not an envelope");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn discovery_input_is_bounded_and_checked_before_charging() {
            let app = TestApp::spawn($kind).await;
            let (_, token) = app.user_named("Requester").await;
            let good = app.hash("someone@example.com");
            let post = |body: serde_json::Value| app.send(Method::POST, "/v1/contacts/discover", Some(&token), Some(body));
            let cases = [
                (json!({"key_id": app.key.id(), "hashes": [good.clone(), "abc"]}), 400, "hashes[1]: must be 64 hex digits"),
                (json!({"key_id": app.key.id(), "hashes": ["z".repeat(64)]}), 400, "hashes[0]: must be 64 hex digits"),
                (json!({"key_id": app.key.id(), "hashes": []}), 400, "hashes: must hold at least one hash"),
                (json!({"key_id": app.key.id(), "hashes": vec![good.clone(); 1001]}), 400, "hashes: holds 1001 hashes; at most 1000"),
                (json!({"hashes": [good.clone()]}), 400, "invalid request body: missing field `key_id`"),
                (json!({"key_id": app.key.id(), "hashes": [good.clone()], "phones": []}), 400, "invalid value at `phones`: unknown field `phones`"),
                (json!({"key_id": "0123456789abcdef", "hashes": [good.clone()]}), 409, "key_id: the discovery key is now"),
            ];
            for (body, status, message) in cases {
                let (got, answer) = post(body).await;
                assert_eq!(got, status, "{answer}");
                let text = answer["error"]["message"].as_str().unwrap();
                assert!(text.starts_with(message), "{text:?} should start with {message:?}");
            }
            // Nothing above was charged: a full batch still fits the burst.
            let (status, answer, _) = app.discover(&token, &vec![good; 1000]).await;
            assert_eq!((status, answer["budget_remaining"].as_u64()), (200, Some(0)), "{answer}");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn discovery_is_rate_limited_per_user() {
            let mut config = test_config();
            config.discovery.rate_limit = PolicySpec::new(5, 24 * 3600 * 1000);
            let app = TestApp::spawn_with($kind, config).await;
            let (_, token) = app.user_named("Requester").await;
            let (_, other) = app.user_named("Other").await;
            let hashes: Vec<String> = (0..6).map(|n| app.hash(&format!("+1415555000{n}"))).collect();
            assert_eq!(app.get("/v1/contacts/discovery/key", &token).await.1["max_batch"], 5, "capped by the burst");
            let (status, answer, _) = app.discover(&token, &hashes).await;
            assert_eq!(status, 400, "6 hashes could never pass: {answer}");

            let (status, answer, _) = app.discover(&token, &hashes[..3]).await;
            assert_eq!((status, answer["budget_remaining"].as_u64()), (200, Some(2)));
            let (status, answer, headers) = app.discover(&token, &hashes[..3]).await;
            assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("resource_exhausted")), "{answer}");
            let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=24 * 3600).contains(&retry), "Retry-After {retry}");
            let (status, answer, _) = app.discover(&token, &hashes[..2]).await;
            assert_eq!((status, answer["budget_remaining"].as_u64()), (200, Some(0)));
            assert_eq!(app.discover(&token, &hashes[..1]).await.0, 429);
            assert_eq!(app.discover(&other, &hashes[..5]).await.0, 200, "budgets are per user");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn blocks_are_idempotent_and_published_once() {
            let app = TestApp::spawn($kind).await;
            let mut blocked = app.subscribe(USER_BLOCKED_TOPIC).await;
            let mut unblocked = app.subscribe(USER_UNBLOCKED_TOPIC).await;
            let (me, token) = app.user_named("Blocker").await;
            let (bob, bob_token) = app.user_named("Bob").await;
            let (carol, _) = app.user();
            for _ in 0..2 {
                assert_eq!(app.put(&format!("/v1/blocks/{bob}"), &token).await, 204);
            }
            assert_eq!(app.get(&format!("/v1/profiles/{me}"), &bob_token).await.0, 404);
            let (_, list) = app.get("/v1/blocks", &token).await;
            assert_eq!(list["items"].as_array().unwrap().len(), 1);
            assert_eq!(list["items"][0]["user_id"], bob.as_str());
            assert!(list["items"][0].get("source").is_none());
            for _ in 0..2 {
                assert_eq!(app.delete(&format!("/v1/blocks/{bob}"), &token).await, 204);
            }
            assert_eq!(app.get(&format!("/v1/profiles/{me}"), &bob_token).await.0, 200);
            assert_eq!(app.put(&format!("/v1/blocks/{carol}"), &token).await, 204);
            assert_eq!(app.delete(&format!("/v1/blocks/{carol}"), &token).await, 204);
            let (status, body) = app.send(Method::PUT, &format!("/v1/blocks/{me}"), Some(&token), None).await;
            assert_eq!(status, 400);
            assert_eq!(body["error"]["message"], "user_id: cannot block yourself");
            assert_eq!(app.put("/v1/blocks/bad%2Fid", &token).await, 400);

            // Per-key order: the event after Bob's is Carol's, so none was duplicated.
            for (who, topic) in [(&bob, USER_BLOCKED_TOPIC), (&carol, USER_BLOCKED_TOPIC)] {
                let (key, event) = next_event::<pb::UserBlocked>(&mut blocked, topic).await;
                assert_eq!((key.as_str(), event.blocker_id.as_str(), event.blocked_id.as_str()), (me.as_str(), me.as_str(), who.as_str()));
                assert!(event.blocked_at.is_some());
            }
            for who in [&bob, &carol] {
                let (key, event) = next_event::<pb::UserUnblocked>(&mut unblocked, USER_UNBLOCKED_TOPIC).await;
                assert_eq!((key.as_str(), event.blocker_id.as_str(), event.unblocked_id.as_str()), (me.as_str(), me.as_str(), who.as_str()));
            }
            app.shutdown().await;
        }
    };
}
