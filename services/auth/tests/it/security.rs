//! Security properties, written once per backend family.

/// Instantiates the security tests for one backend kind.
#[macro_export]
macro_rules! security_suite {
    ($kind:expr) => {
        use std::time::Duration;

        use chatflow_auth::{Limit, SESSIONS_REVOKED_TOPIC};
        use chatflow_authn::claims::{revoked_before_key, revoked_session_key};
        use chatflow_cache::KeyTtl;
        use chatflow_proto::auth::v1 as pb;
        use prost::Message;
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::{PASSWORD, TestApp, test_config, totp_code, totp_now};

        #[tokio::test]
        async fn refresh_token_reuse_revokes_the_whole_family() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("alice@example.com").await;
            let (_, first) = app.login("alice@example.com", "a").await;
            let sid = first["session_id"].as_str().unwrap().to_owned();
            let (status, second) = app.post("/v1/auth/token/refresh", None, json!({"refresh_token": first["refresh_token"]})).await;
            assert_eq!(status, 200);
            let access = second["access_token"].as_str().unwrap();
            assert_eq!(app.get("/v1/auth/me", Some(access)).await.0, 200);

            // The stolen, already used token comes back.
            let (status, body) = app.post("/v1/auth/token/refresh", None, json!({"refresh_token": first["refresh_token"]})).await;
            assert_eq!(status, 401);
            assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");
            // The legitimate holder's newer token is dead too: the family is gone.
            let (status, _) = app.post("/v1/auth/token/refresh", None, json!({"refresh_token": second["refresh_token"]})).await;
            assert_eq!(status, 401);
            assert_eq!(app.get("/v1/auth/me", Some(access)).await.0, 401);
            // What every other service's verifier reads.
            let key = revoked_session_key(&sid);
            assert_eq!(app.cache.get(&key).await.unwrap().as_deref(), Some(&b"1"[..]));
            match app.cache.ttl(&key).await.unwrap() {
                KeyTtl::ExpiresIn(ttl) => assert!(ttl > Duration::from_secs(900), "{ttl:?}"),
                other => panic!("revocation entry must expire after the token lifetime: {other:?}"),
            }
            let (status, _) = app.post("/v1/auth/token/refresh", None, json!({"refresh_token": "cfr_made-up"})).await;
            assert_eq!(status, 401);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn totp_codes_cannot_be_replayed_and_recovery_codes_work_once() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("bob@example.com").await;
            let (_, tokens) = app.login("bob@example.com", "a").await;
            let access = tokens["access_token"].as_str().unwrap().to_owned();
            let (_, enrolment) = app.post("/v1/auth/mfa/totp/enroll", Some(&access), json!({})).await;
            let secret = enrolment["secret"].as_str().unwrap().to_owned();
            let (status, _) = app.post("/v1/auth/mfa/totp/confirm", Some(&access), json!({"code": "000000"})).await;
            assert_eq!(status, 401, "a wrong confirmation code");
            let now = totp_now().await;
            let (status, recovery) = app
                .post("/v1/auth/mfa/totp/confirm", Some(&access), json!({"code": totp_code(&secret, now - 30)}))
                .await;
            assert_eq!(status, 200);
            let codes: Vec<String> = recovery["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
            let (status, _) = app.post("/v1/auth/mfa/totp/enroll", Some(&access), json!({})).await;
            assert_eq!(status, 409, "already enabled");

            let ticket = || async {
                let (status, body) = app.login("bob@example.com", "b").await;
                assert_eq!((status, body["mfa_required"].as_bool()), (200, Some(true)));
                body["mfa_ticket"].as_str().unwrap().to_owned()
            };
            let mfa = |ticket: String, field: &'static str, code: String| {
                app.post("/v1/auth/login/mfa", None, json!({"mfa_ticket": ticket, field: code}))
            };
            let t1 = ticket().await;
            let (status, body) = mfa(t1.clone(), "code", totp_code(&secret, now - 30)).await;
            assert_eq!(status, 401, "the confirmation code is spent: {body}");
            assert_eq!(mfa(t1.clone(), "code", totp_code(&secret, now)).await.0, 200);
            assert_eq!(mfa(t1, "code", totp_code(&secret, now + 30)).await.0, 401, "tickets are single use");

            let t2 = ticket().await;
            let (status, body) = mfa(t2.clone(), "code", totp_code(&secret, now)).await;
            assert_eq!(status, 401);
            assert!(body["error"]["message"].as_str().unwrap().contains("already used"), "{body}");
            assert_eq!(mfa(t2, "recovery_code", codes[0].to_uppercase()).await.0, 200);
            let t3 = ticket().await;
            assert_eq!(mfa(t3.clone(), "recovery_code", codes[0].clone()).await.0, 401, "recovery codes are single use");
            assert_eq!(mfa(t3, "recovery_code", codes[1].clone()).await.0, 200);
            let (_, me) = app.get("/v1/auth/me", Some(&access)).await;
            assert_eq!(me["recovery_codes_left"], 8);

            let (status, _) = app.post("/v1/auth/mfa/totp/disable", Some(&access), json!({"code": totp_code(&secret, now)})).await;
            assert_eq!(status, 401, "a replayed code cannot disable MFA");
            let (status, _) = app.post("/v1/auth/mfa/totp/disable", Some(&access), json!({"code": totp_code(&secret, now + 30)})).await;
            assert_eq!(status, 204);
            let (status, body) = app.login("bob@example.com", "c").await;
            assert_eq!((status, body["mfa_required"].as_bool()), (200, Some(false)));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn password_reset_revokes_every_session() {
            let app = TestApp::spawn($kind).await;
            let mut revocations = app.backends.bus
                .subscribe("auth-test-revoked", &[SESSIONS_REVOKED_TOPIC.to_owned()]).await.unwrap();
            app.verified_account("carol@example.com").await;
            let (_, a) = app.login("carol@example.com", "a").await;
            let (_, b) = app.login("carol@example.com", "b").await;
            let user = a["user_id"].as_str().unwrap().to_owned();

            let (status, unknown) = app.post("/v1/auth/password/reset/request", None, json!({"email": "nobody@example.com"})).await;
            let (status2, known) = app.post("/v1/auth/password/reset/request", None, json!({"email": "carol@example.com"})).await;
            assert_eq!((status, &unknown), (status2, &known), "no enumeration through reset");
            let code = app.code_for("carol@example.com", pb::Purpose::ResetPassword).await;
            let reset = |code: &str, password: &str| app.post("/v1/auth/password/reset", None,
                json!({"email": "carol@example.com", "code": code, "new_password": password}));
            assert_eq!(reset(&code, "short").await.0, 400);
            let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 7) % 1_000_000);
            assert_eq!(reset(&wrong, "a whole new password").await.0, 400);
            assert_eq!(reset(&code, "a whole new password").await.0, 204);

            for tokens in [&a, &b] {
                assert_eq!(app.get("/v1/auth/me", tokens["access_token"].as_str()).await.0, 401);
                let (status, _) = app.post("/v1/auth/token/refresh", None, json!({"refresh_token": tokens["refresh_token"]})).await;
                assert_eq!(status, 401);
                let sid = tokens["session_id"].as_str().unwrap();
                assert!(app.cache.get(&revoked_session_key(sid)).await.unwrap().is_some());
            }
            let cutoff = app.cache.get(&revoked_before_key(&user)).await.unwrap().expect("revoked-before entry");
            let cutoff: i64 = std::str::from_utf8(&cutoff).unwrap().parse().unwrap();
            let claims = app.decode_access(a["access_token"].as_str().unwrap()).await.unwrap();
            assert!(cutoff >= claims.iat, "cutoff {cutoff} covers tokens issued at {}", claims.iat);
            assert_eq!(app.login("carol@example.com", "c").await.0, 401, "old password");
            let (status, _) = app.post("/v1/auth/login", None, json!({"email": "carol@example.com", "password": "a whole new password"})).await;
            assert_eq!(status, 200);

            let delivery = tokio::time::timeout(Duration::from_secs(30), revocations.next()).await.expect("no revocation event").unwrap();
            let envelope = chatflow_proto::events::v1::EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
            let event = pb::SessionsRevoked::decode(envelope.data.as_slice()).unwrap();
            assert_eq!((event.user_id.as_str(), event.reason.as_str(), event.session_ids.len()), (user.as_str(), "password_reset", 2));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn unknown_account_and_wrong_password_are_indistinguishable() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("dave@example.com").await;
            let before = app.verifications.get();
            let (s1, unknown, h1) = app.send(Method::POST, "/v1/auth/login", None,
                Some(json!({"email": "nobody@example.com", "password": PASSWORD}))).await;
            let middle = app.verifications.get();
            let (s2, wrong, h2) = app.send(Method::POST, "/v1/auth/login", None,
                Some(json!({"email": "dave@example.com", "password": "not the password"}))).await;
            let after = app.verifications.get();
            assert_eq!((s1, &unknown), (s2, &wrong));
            assert_eq!(s1, 401);
            assert_eq!(h1.get("www-authenticate"), h2.get("www-authenticate"));
            assert_eq!((middle - before, after - middle), (1, 1), "both paths run one argon2 verification");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn brute_force_logins_are_throttled() {
            let app = TestApp::spawn($kind).await;
            app.verified_account("erin@example.com").await;
            for attempt in 0..10 {
                let (status, _) = app.post("/v1/auth/login", None, json!({"email": "erin@example.com", "password": format!("guess number {attempt}")})).await;
                assert_eq!(status, 401);
            }
            let (status, body, headers) = app.send(Method::POST, "/v1/auth/login", None,
                Some(json!({"email": "erin@example.com", "password": "guess number 11"}))).await;
            assert_eq!((status, body["error"]["code"].as_str()), (429, Some("resource_exhausted")));
            let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=90).contains(&retry), "{retry}");
            assert_eq!(app.login("erin@example.com", "a").await.0, 429, "even the right password waits");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn logins_are_throttled_per_ip() {
            let mut config = test_config();
            config.throttle.login_per_ip = Limit { requests: 3, per_secs: 60 };
            let app = TestApp::spawn_with($kind, config).await;
            for i in 0..3 {
                let (status, _) = app.post("/v1/auth/login", None, json!({"email": format!("u{i}@example.com"), "password": PASSWORD})).await;
                assert_eq!(status, 401);
            }
            let (status, _) = app.post("/v1/auth/login", None, json!({"email": "u9@example.com", "password": PASSWORD})).await;
            assert_eq!(status, 429);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn bad_input_is_rejected_and_changes_nothing() {
            let app = TestApp::spawn($kind).await;
            let url = format!("{}/v1/auth/register", app.http);
            for raw in ["{not json", "[]", "", "{\"email\": 7, \"password\": \"x\"}"] {
                let response = app.client.post(&url).header("content-type", "application/json").body(raw).send().await.unwrap();
                assert_eq!(response.status(), 400, "{raw:?}");
            }
            let response = app.client.post(&url).body(r#"{"email":"a@b.co","password":"long enough pw"}"#).send().await.unwrap();
            assert_eq!(response.status(), 400, "no content type");
            let cases = [
                (json!({"email": "not-an-email", "password": PASSWORD}), "email"),
                (json!({"phone": "0123456789", "password": PASSWORD}), "phone"),
                (json!({"email": "a@b.co", "password": "short"}), "password"),
                (json!({"email": "a@b.co", "password": "            "}), "whitespace"),
                (json!({"email": "a@b.co", "phone": "+14155550123", "password": PASSWORD}), "exactly one"),
                (json!({"password": PASSWORD}), "exactly one"),
                (json!({"email": "a@b.co", "password": PASSWORD, "role": "admin"}), "role"),
                (json!({"email": "a@b.co", "password": "x".repeat(40_000)}), "too large"),
            ];
            for (body, hint) in cases {
                let (status, answer) = app.post("/v1/auth/register", None, body.clone()).await;
                assert_eq!(status, 400, "{body}");
                let message = answer["error"]["message"].as_str().unwrap();
                assert!(message.contains(hint), "{message:?} should mention {hint:?}");
            }
            for (path, body) in [
                ("/v1/auth/login", json!({"email": "a@b.co"})),
                ("/v1/auth/login", json!({"email": "a@b.co", "password": PASSWORD, "device_id": "x".repeat(65)})),
                ("/v1/auth/token/refresh", json!({"refresh_token": 5})),
                ("/v1/auth/login/mfa", json!({"mfa_ticket": "t", "code": "1", "recovery_code": "2"})),
            ] {
                assert_eq!(app.post(path, None, body.clone()).await.0, 400, "{path} {body}");
            }
            for table in ["accounts", "verification_codes", "sessions", "outbox"] {
                assert_eq!(app.count(table).await, 0, "rejected input wrote to {table}");
            }
            app.shutdown().await;
        }

        #[tokio::test]
        async fn forged_expired_and_foreign_tokens_are_rejected() {
            use chatflow_sql::sqlx::{self, Row};
            let app = TestApp::spawn($kind).await;
            app.verified_account("frank@example.com").await;
            let (_, tokens) = app.login("frank@example.com", "a").await;
            let access = tokens["access_token"].as_str().unwrap();
            let claims = app.decode_access(access).await.unwrap();
            let (head, rest) = access.split_once('.').unwrap();
            let (_, signature) = rest.split_once('.').unwrap();

            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut forged_claims = serde_json::to_value(&claims).unwrap();
            forged_claims["roles"] = json!(["user", "operator"]);
            let forged = format!("{head}.{}.{signature}", b64.encode(forged_claims.to_string()));
            let none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), b64.encode(forged_claims.to_string()));
            let (_, jwks) = app.get("/.well-known/jwks.json", None).await;
            let x = b64.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
            let hs256 = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims,
                &jsonwebtoken::EncodingKey::from_secret(&x)).unwrap();

            // Tokens signed with the real key but wrong claims.
            let row = sqlx::query("SELECT kid, private_key FROM signing_keys").fetch_one(app.backends.sql.pool()).await.unwrap();
            let (kid, seed): (String, Vec<u8>) = (row.try_get("kid").unwrap(), row.try_get("private_key").unwrap());
            let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
            der.extend_from_slice(&seed);
            let key = jsonwebtoken::EncodingKey::from_ed_der(&der);
            let header = jsonwebtoken::Header { kid: Some(kid), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA) };
            let sign = |claims: &chatflow_authn::claims::AccessClaims| jsonwebtoken::encode(&header, claims, &key).unwrap();
            let valid = sign(&claims);
            let expired = sign(&chatflow_authn::claims::AccessClaims { exp: claims.iat - 3600, iat: claims.iat - 4600, nbf: claims.iat - 4600, ..claims.clone() });
            let foreign = sign(&chatflow_authn::claims::AccessClaims { aud: "someone-else".into(), ..claims.clone() });

            assert_eq!(app.get("/v1/auth/me", Some(&valid)).await.0, 200, "the control token works");
            for (name, token) in [("forged", forged), ("alg none", none), ("hs256 confusion", hs256), ("expired", expired), ("wrong audience", foreign), ("garbage", "a.b.c".to_owned())] {
                let (status, body) = app.get("/v1/auth/me", Some(&token)).await;
                assert_eq!(status, 401, "{name}: {body}");
            }
            let (status, _) = app.post("/v1/auth/admin/rotate-keys", Some("wrong-admin-token"), json!({})).await;
            assert_eq!(status, 401);
            app.shutdown().await;
        }
    };
}
