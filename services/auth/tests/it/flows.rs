//! The REST flows, written once per backend family.

/// Instantiates the flow tests for one backend kind.
#[macro_export]
macro_rules! flow_suite {
    ($kind:expr) => {
        use chatflow_authn::claims::revoked_session_key;
        use chatflow_proto::auth::v1 as pb;
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::{ADMIN, PASSWORD, TestApp, kid_of, totp_code, totp_now};

        #[tokio::test]
        async fn register_verify_login_mfa_refresh_rotate_revoke() {
            let app = TestApp::spawn($kind).await;
            let (status, body) = app
                .post("/v1/auth/register", None, json!({"email": "Alice@Example.COM", "password": PASSWORD}))
                .await;
            assert_eq!((status, &body), (202, &json!({"status": "accepted"})));
            let code = app.code_for("alice@example.com", pb::Purpose::VerifyAccount).await;
            let (status, body) = app.login("alice@example.com", "phone-1").await;
            assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "unverified");
            let (status, _) = app.post("/v1/auth/verify", None, json!({"email": "alice@example.com", "code": code})).await;
            assert_eq!(status, 204);

            let (status, tokens) = app.login("ALICE@example.com", "phone-1").await;
            assert_eq!(status, 200, "{tokens}");
            assert_eq!(tokens["mfa_required"], false);
            let access = tokens["access_token"].as_str().unwrap().to_owned();
            let claims = app.decode_access(&access).await.unwrap();
            assert_eq!(claims.sub, tokens["user_id"].as_str().unwrap());
            assert_eq!(claims.sid, tokens["session_id"].as_str().unwrap());
            assert_eq!((claims.did.as_str(), claims.roles.clone()), ("phone-1", vec!["user".to_owned()]));
            assert_eq!(claims.exp - claims.iat, 900);
            let first_kid = kid_of(&access);

            let (status, me) = app.get("/v1/auth/me", Some(&access)).await;
            assert_eq!(status, 200, "{me}");
            assert_eq!((me["identifier"].as_str(), me["verified"].as_bool(), me["mfa_enabled"].as_bool()),
                (Some("alice@example.com"), Some(true), Some(false)));

            // MFA enrolment.
            let (status, enrolment) = app.post("/v1/auth/mfa/totp/enroll", Some(&access), json!({})).await;
            assert_eq!(status, 200, "{enrolment}");
            let secret = enrolment["secret"].as_str().unwrap().to_owned();
            let uri = enrolment["otpauth_uri"].as_str().unwrap();
            assert!(uri.starts_with("otpauth://totp/ChatFlow:alice%40example.com?secret="), "{uri}");
            assert!(uri.contains("issuer=ChatFlow"), "{uri}");
            let now = totp_now().await;
            let (status, recovery) = app
                .post("/v1/auth/mfa/totp/confirm", Some(&access), json!({"code": totp_code(&secret, now - 30)}))
                .await;
            assert_eq!(status, 200, "{recovery}");
            assert_eq!(recovery["recovery_codes"].as_array().unwrap().len(), 10);
            let (_, me) = app.get("/v1/auth/me", Some(&access)).await;
            assert_eq!((me["mfa_enabled"].as_bool(), me["recovery_codes_left"].as_i64()), (Some(true), Some(10)));

            // Login with MFA.
            let (status, challenge) = app.login("alice@example.com", "laptop-1").await;
            assert_eq!(status, 200);
            assert_eq!(challenge["mfa_required"], true, "{challenge}");
            assert!(challenge.get("access_token").is_none());
            let ticket = challenge["mfa_ticket"].as_str().unwrap();
            let (status, tokens) = app
                .post("/v1/auth/login/mfa", None, json!({"mfa_ticket": ticket, "code": totp_code(&secret, now)}))
                .await;
            assert_eq!(status, 200, "{tokens}");
            let session = tokens["session_id"].as_str().unwrap().to_owned();
            assert_eq!(app.decode_access(tokens["access_token"].as_str().unwrap()).await.unwrap().did, "laptop-1");

            // Refresh rotates.
            let refresh = tokens["refresh_token"].as_str().unwrap();
            let (status, renewed) = app.post("/v1/auth/token/refresh", None, json!({"refresh_token": refresh})).await;
            assert_eq!(status, 200, "{renewed}");
            assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
            assert_eq!(renewed["session_id"].as_str(), Some(session.as_str()));
            let old_access = renewed["access_token"].as_str().unwrap().to_owned();
            assert_eq!(kid_of(&old_access), first_kid);

            // Rotation: operator only; the new key is published before use.
            let (status, _) = app.post("/v1/auth/admin/rotate-keys", None, json!({})).await;
            assert_eq!(status, 401);
            let (status, _) = app.post("/v1/auth/admin/rotate-keys", Some(&old_access), json!({})).await;
            assert_eq!(status, 403, "a user token is not an operator");
            let (status, rotation) = app.post("/v1/auth/admin/rotate-keys", Some(ADMIN), json!({})).await;
            assert_eq!(status, 200, "{rotation}");
            let new_kid = rotation["kid"].as_str().unwrap().to_owned();
            assert_ne!(new_kid, first_kid);
            let (_, jwks) = app.get("/.well-known/jwks.json", None).await;
            let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
            assert!(kids.contains(&first_kid.as_str()) && kids.contains(&new_kid.as_str()), "{jwks}");
            assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519" && k["alg"] == "EdDSA"));
            let source: &dyn chatflow_authn::KeySource = &app.jwks;
            let local = source.fetch().await.unwrap();
            assert_eq!(serde_json::to_value(&local).unwrap(), jwks, "the in-process source serves the same keys");

            let (status, rotated) = app
                .post("/v1/auth/token/refresh", None, json!({"refresh_token": renewed["refresh_token"]}))
                .await;
            assert_eq!(status, 200, "{rotated}");
            let new_access = rotated["access_token"].as_str().unwrap().to_owned();
            assert_eq!(kid_of(&new_access), new_kid, "signs with the new key once active");
            assert!(app.decode_access(&old_access).await.is_ok(), "old tokens stay verifiable");
            assert!(app.decode_access(&new_access).await.is_ok());

            // Revoke.
            let (status, _, _) = app
                .send(Method::DELETE, &format!("/v1/auth/sessions/{session}"), Some(&access), None)
                .await;
            assert_eq!(status, 204);
            assert_eq!(app.get("/v1/auth/me", Some(&new_access)).await.0, 401);
            assert_eq!(app.cache.get(&revoked_session_key(&session)).await.unwrap().as_deref(), Some(&b"1"[..]));
            let (status, _) = app
                .post("/v1/auth/token/refresh", None, json!({"refresh_token": rotated["refresh_token"]}))
                .await;
            assert_eq!(status, 401);
            assert_eq!(app.get("/v1/auth/me", Some(&access)).await.0, 200, "other sessions live on");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn phone_accounts_get_codes_by_sms() {
            let app = TestApp::spawn($kind).await;
            let (status, _) = app
                .post("/v1/auth/register", None, json!({"phone": "+1 (415) 555-0123", "password": PASSWORD}))
                .await;
            assert_eq!(status, 202);
            let code = app.code_for("+14155550123", pb::Purpose::VerifyAccount).await;
            let (status, _) = app.post("/v1/auth/verify", None, json!({"phone": "+14155550123", "code": code})).await;
            assert_eq!(status, 204);
            let (status, tokens) = app
                .post("/v1/auth/login", None, json!({"phone": "+14155550123", "password": PASSWORD}))
                .await;
            assert_eq!(status, 200, "{tokens}");
            let (_, me) = app.get("/v1/auth/me", tokens["access_token"].as_str()).await;
            assert_eq!(me["channel"], "phone");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn sessions_are_listed_renamed_and_revoked() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("bob@example.com").await;
            let mut tokens = Vec::new();
            for device in ["a", "b", "c"] {
                let (status, body) = app.login("bob@example.com", device).await;
                assert_eq!(status, 200);
                tokens.push(body);
            }
            let access = |i: usize| tokens[i]["access_token"].as_str().unwrap().to_owned();
            let sid = |i: usize| tokens[i]["session_id"].as_str().unwrap().to_owned();
            let (status, list) = app.get("/v1/auth/sessions", Some(&access(0))).await;
            assert_eq!(status, 200);
            let sessions = list["sessions"].as_array().unwrap();
            assert_eq!(sessions.len(), 3);
            let current: Vec<&str> = sessions.iter().filter(|s| s["current"] == true).map(|s| s["id"].as_str().unwrap()).collect();
            assert_eq!(current, [sid(0).as_str()]);
            assert!(sessions.iter().any(|s| s["device_name"] == "b name"));

            let path = format!("/v1/auth/sessions/{}", sid(1));
            let (status, _, _) = app.send(Method::PATCH, &path, Some(&access(0)), Some(json!({"device_name": "Bob's tablet"}))).await;
            assert_eq!(status, 204);
            let (status, _, _) = app.send(Method::PATCH, &path, Some(&access(0)), Some(json!({"device_name": ""}))).await;
            assert_eq!(status, 400);
            let (status, _, _) = app.send(Method::PATCH, "/v1/auth/sessions/nope", Some(&access(0)), Some(json!({"device_name": "x"}))).await;
            assert_eq!(status, 404);
            let (_, list) = app.get("/v1/auth/sessions", Some(&access(0))).await;
            assert!(list["sessions"].as_array().unwrap().iter().any(|s| s["device_name"] == "Bob's tablet"));

            let (status, body) = app.post("/v1/auth/sessions/revoke-others", Some(&access(0)), json!({})).await;
            assert_eq!((status, body["revoked"].as_u64()), (200, Some(2)));
            for i in [1, 2] {
                assert_eq!(app.get("/v1/auth/me", Some(&access(i))).await.0, 401);
                assert!(app.cache.get(&revoked_session_key(&sid(i))).await.unwrap().is_some());
            }
            let (_, list) = app.get("/v1/auth/sessions", Some(&access(0))).await;
            assert_eq!(list["sessions"].as_array().unwrap().len(), 1);

            let (status, _) = app.post("/v1/auth/logout", Some(&access(0)), json!({})).await;
            assert_eq!(status, 204);
            let (status, _, headers) = app.send(Method::GET, "/v1/auth/me", Some(&access(0)), None).await;
            assert_eq!((status, headers["www-authenticate"].to_str().unwrap()), (401, "Bearer"));
            assert!(app.cache.get(&revoked_session_key(&sid(0))).await.unwrap().is_some());
            app.shutdown().await;
        }

        #[tokio::test]
        async fn password_change_needs_the_current_password_and_revokes_other_sessions() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("carol@example.com").await;
            let (_, a) = app.login("carol@example.com", "a").await;
            let (_, b) = app.login("carol@example.com", "b").await;
            let token_a = a["access_token"].as_str().unwrap();
            let (status, _) = app
                .post("/v1/auth/password/change", Some(token_a), json!({"current_password": "not my password", "new_password": "a brand new secret"}))
                .await;
            assert_eq!(status, 403);
            let (status, _) = app
                .post("/v1/auth/password/change", Some(token_a), json!({"current_password": PASSWORD, "new_password": "short"}))
                .await;
            assert_eq!(status, 400);
            let (status, _) = app
                .post("/v1/auth/password/change", Some(token_a), json!({"current_password": PASSWORD, "new_password": "a brand new secret"}))
                .await;
            assert_eq!(status, 204);
            assert_eq!(app.get("/v1/auth/me", b["access_token"].as_str()).await.0, 401);
            assert_eq!(app.get("/v1/auth/me", Some(token_a)).await.0, 200);
            assert_eq!(app.login("carol@example.com", "c").await.0, 401);
            let (status, _) = app
                .post("/v1/auth/login", None, json!({"email": "carol@example.com", "password": "a brand new secret"}))
                .await;
            assert_eq!(status, 200);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn verification_codes_are_single_use_with_limited_attempts() {
            let app = TestApp::spawn($kind).await;
            let email = "dave@example.com";
            app.post("/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
            let code = app.code_for(email, pb::Purpose::VerifyAccount).await;
            let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
            for _ in 0..5 {
                let (status, body) = app.post("/v1/auth/verify", None, json!({"email": email, "code": wrong})).await;
                assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_argument")));
            }
            let (status, _) = app.post("/v1/auth/verify", None, json!({"email": email, "code": code})).await;
            assert_eq!(status, 400, "the right code after 5 wrong attempts is refused");
            let (status, _) = app.post("/v1/auth/verify/resend", None, json!({"email": email})).await;
            assert_eq!(status, 202);
            let fresh = app.code_for(email, pb::Purpose::VerifyAccount).await;
            let (status, _) = app.post("/v1/auth/verify", None, json!({"email": email, "code": fresh})).await;
            assert_eq!(status, 204);
            let (status, _) = app.post("/v1/auth/verify", None, json!({"email": email, "code": fresh})).await;
            assert_eq!(status, 400, "single use");
            // Unknown accounts answer like wrong codes.
            let (status, body) = app.post("/v1/auth/verify", None, json!({"email": "nobody@example.com", "code": fresh})).await;
            assert_eq!((status, body["error"]["message"].as_str()), (400, Some("invalid or expired code")));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn registering_a_taken_identifier_reveals_nothing_and_changes_nothing() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("erin@example.com").await;
            let (status, body) = app
                .post("/v1/auth/register", None, json!({"email": "erin@example.com", "password": "attacker password"}))
                .await;
            assert_eq!((status, body), (202, json!({"status": "accepted"})));
            assert_eq!(app.login("erin@example.com", "d").await.0, 200, "the owner's password still works");
            assert_eq!(app.count("accounts").await, 1);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn password_hashes_are_upgraded_when_parameters_change() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("gina@example.com").await;
            let stored = || async {
                use chatflow_sql::sqlx::{self, Row};
                let row = sqlx::query("SELECT password_hash FROM accounts").fetch_one(app.backends.sql.pool()).await.unwrap();
                row.try_get::<String, _>("password_hash").unwrap()
            };
            assert!(stored().await.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
            app.stop.cancel();
            // Restart with stronger parameters on the same store.
            let mut config = $crate::app::test_config();
            config.argon2.iterations = 2;
            let upgraded = TestApp::spawn_on(app.backends.clone(), config).await;
            assert_eq!(upgraded.login("gina@example.com", "a").await.0, 200);
            assert!(stored().await.starts_with("$argon2id$v=19$m=64,t=2,p=1$"), "{}", stored().await);
            assert_eq!(upgraded.login("gina@example.com", "b").await.0, 200, "the new hash verifies");
            upgraded.shutdown().await;
        }

        #[tokio::test]
        async fn operators_grant_roles_and_old_tokens_stop_at_once() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("root@example.com").await;
            app.verified_account("dana@example.com").await;
            let (_, dana) = app.login("dana@example.com", "laptop").await;
            let dana_access = dana["access_token"].as_str().unwrap().to_owned();
            let roles = |account: &str, body: serde_json::Value, bearer: String| {
                let path = format!("/v1/auth/admin/accounts/{account}/roles");
                let app = &app;
                async move { let (s, b, _) = app.send(Method::PUT, &path, Some(&bearer), Some(body)).await; (s, b) }
            };
            // Only operators: a user's own token is refused, nothing changes.
            let (status, _) = roles("dana@example.com", json!({"roles": ["operator"]}), dana_access.clone()).await;
            assert_eq!(status, 403);
            // Bad input is precise and changes nothing.
            for bad in [json!({"roles": ["Op erator"]}), json!({"roles": "operator"}), json!({"roles": [], "extra": 1})] {
                assert_eq!(roles("dana@example.com", bad, ADMIN.to_owned()).await.0, 400);
            }
            assert_eq!(roles("nobody@example.com", json!({"roles": []}), ADMIN.to_owned()).await.0, 404);
            assert_eq!(app.get("/v1/auth/me", Some(&dana_access)).await.1["roles"], json!(["user"]));

            let (status, body) = roles("dana@example.com", json!({"roles": ["operator", "operator"]}), ADMIN.to_owned()).await;
            assert_eq!((status, &body["roles"]), (200, &json!(["operator", "user"])), "{body}");
            // Tokens issued before the change no longer verify; a refresh
            // (same session) carries the new roles.
            assert_eq!(app.get("/v1/auth/me", Some(&dana_access)).await.0, 401);
            let (status, pair) = app.post("/v1/auth/token/refresh", None,
                json!({"refresh_token": dana["refresh_token"]})).await;
            assert_eq!(status, 200, "{pair}");
            let claims = app.decode_access(pair["access_token"].as_str().unwrap()).await.unwrap();
            assert_eq!(claims.roles, vec!["operator".to_owned(), "user".to_owned()]);
            assert_eq!(claims.sid, dana["session_id"].as_str().unwrap());
            // The new operator may now manage roles herself, by account id too.
            let (_, root) = app.login("root@example.com", "desk").await;
            let root_id = root["user_id"].as_str().unwrap().to_owned();
            let operator = pair["access_token"].as_str().unwrap().to_owned();
            let (status, body) = roles(&root_id, json!({"roles": ["moderator"]}), operator).await;
            assert_eq!((status, &body["roles"]), (200, &json!(["moderator", "user"])));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn verifying_an_account_announces_the_identifier() {
            use prost::Message as _;
            let app = TestApp::spawn($kind).await;
            let mut verified = app.backends.bus
                .subscribe("auth-test-verified", &[chatflow_auth::ACCOUNT_VERIFIED_TOPIC.to_owned()])
                .await.unwrap();
            app.verified_account("erin@example.com").await;
            let delivery = tokio::time::timeout(std::time::Duration::from_secs(30), verified.next())
                .await.expect("no account_verified event").unwrap();
            let envelope = chatflow_proto::events::v1::EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
            assert_eq!(envelope.r#type, chatflow_auth::ACCOUNT_VERIFIED_TOPIC);
            let event = pb::AccountVerified::decode(envelope.data.as_slice()).unwrap();
            assert_eq!(event.identifier, "erin@example.com");
            assert_eq!(event.channel, pb::Channel::Email as i32);
            assert_eq!(delivery.key, event.account_id.as_bytes(), "keyed by account");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn the_openapi_document_describes_the_api() {
            let app = TestApp::spawn($kind).await;
            let (status, doc) = app.get("/v1/auth/openapi.json", None).await;
            assert_eq!(status, 200);
            for path in ["/v1/auth/register", "/v1/auth/verify", "/v1/auth/login", "/v1/auth/login/mfa",
                "/v1/auth/token/refresh", "/v1/auth/sessions/{id}", "/v1/auth/mfa/totp/enroll",
                "/v1/auth/admin/rotate-keys", "/.well-known/jwks.json", "/v1/auth/password/reset",
                "/v1/auth/admin/accounts/{account}/roles"] {
                assert!(doc["paths"][path].is_object(), "{path} missing");
            }
            assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
            app.shutdown().await;
        }
    };
}
