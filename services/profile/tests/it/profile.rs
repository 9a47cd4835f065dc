//! Profiles, privacy and authentication, written once per backend family.

/// Instantiates the profile tests for one backend kind.
#[macro_export]
macro_rules! profile_suite {
    ($kind:expr) => {
        use chatflow_profile::{PRIVACY_CHANGED_TOPIC, PROFILE_UPDATED_TOPIC};
        use chatflow_proto::profile::v1 as pb;
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::{TestApp, next_event};

        #[tokio::test]
        async fn profile_round_trip_normalises_and_versions() {
            let app = TestApp::spawn($kind).await;
            let mut updates = app.subscribe(PROFILE_UPDATED_TOPIC).await;
            let (me, token) = app.user();
            let (status, empty) = app.get("/v1/profile/me", &token).await;
            assert_eq!(status, 200, "{empty}");
            assert_eq!((empty["user_id"].as_str(), empty["version"].as_i64(), empty["display_name"].as_str()),
                (Some(me.as_str()), Some(0), Some("")));

            // "e" + COMBINING ACUTE ACCENT is stored as the single NFC "é".
            let (status, body) = app.patch_me(&token, json!({
                "display_name": "  Rene\u{301}e ", "about": "line one\r\nline two\n",
                "avatar": "0190b3c4-avatar", "locale": "pt-br", "time_zone": "america/sao_paulo",
            })).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["display_name"], "Ren\u{e9}e");
            assert_eq!(body["display_name"].as_str().unwrap().chars().count(), 5);
            assert_eq!(body["about"], "line one\nline two");
            assert_eq!((body["locale"].as_str(), body["time_zone"].as_str()), (Some("pt-BR"), Some("America/Sao_Paulo")));
            assert_eq!(body["version"], 1);
            assert!(body["updated_at_ms"].as_i64().unwrap() > 0);
            let (_, read) = app.get("/v1/profile/me", &token).await;
            assert_eq!(read, body, "what was written is what is read");

            // The same values again change nothing and publish nothing.
            let (_, same) = app.patch_me(&token, json!({"display_name": "Ren\u{e9}e", "locale": "pt-BR"})).await;
            assert_eq!(same["version"], 1);

            let (status, cleared) = app.patch_me(&token, json!({"avatar": null, "time_zone": null, "version": 1})).await;
            assert_eq!(status, 200, "{cleared}");
            assert_eq!((cleared["avatar"].is_null(), cleared["time_zone"].is_null(), cleared["version"].as_i64()), (true, true, Some(2)));
            assert_eq!(cleared["locale"], "pt-BR", "absent fields stay");

            let (status, stale) = app.patch_me(&token, json!({"about": "stale write", "version": 1})).await;
            assert_eq!((status, stale["error"]["code"].as_str()), (409, Some("conflict")), "{stale}");
            assert_eq!(app.get("/v1/profile/me", &token).await.1["about"], "line one\nline two");

            for version in [1, 2] {
                let (key, event) = next_event::<pb::ProfileUpdated>(&mut updates, PROFILE_UPDATED_TOPIC).await;
                assert_eq!((key.as_str(), event.user_id.as_str(), event.version), (me.as_str(), me.as_str(), version));
                assert_eq!(event.display_name, "Ren\u{e9}e");
            }
            app.shutdown().await;
        }

        #[tokio::test]
        async fn invalid_input_is_refused_and_changes_nothing() {
            let app = TestApp::spawn($kind).await;
            let (_, token) = app.user_named("Baseline").await;
            let (_, before) = app.get("/v1/profile/me", &token).await;
            let long_name = "é".repeat(65);
            let long_about = "a".repeat(281);
            let cases = [
                (json!({"display_name": long_name}), "display_name: is 65 characters long; at most 64"),
                (json!({"display_name": "   "}), "display_name: must not be empty"),
                (json!({"display_name": "bell\u{7}"}), "display_name: contains a control"),
                (json!({"display_name": "evil\u{202E}gnp.exe"}), "display_name: contains a control or invisible formatting character (U+202E"),
                (json!({"display_name": "zero\u{200B}width"}), "display_name: contains"),
                (json!({"about": long_about}), "about: is 281 characters long; at most 280"),
                (json!({"about": "isolate \u{2067}x"}), "about: contains"),
                (json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone: must be an IANA time zone"),
                (json!({"locale": "en_US"}), "locale: must be a BCP 47 language tag"),
                (json!({"avatar": "../etc/passwd"}), "avatar: must be 1 to 64 characters"),
                // One bad field refuses the good ones with it.
                (json!({"display_name": "Fine", "locale": "not a locale"}), "locale:"),
                (json!({"display_name": "Fine", "nickname": "x"}), "invalid value at `nickname`: unknown field `nickname`"),
                (json!({"display_name": 42}), "invalid value at `display_name`"),
                (json!({"version": "one"}), "invalid value at `version`"),
            ];
            for (body, message) in cases {
                let (status, answer) = app.patch_me(&token, body.clone()).await;
                assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_argument")), "{body} -> {answer}");
                let got = answer["error"]["message"].as_str().unwrap();
                assert!(got.starts_with(message), "{body}: {got:?} should start with {message:?}");
            }
            let huge = serde_json::to_vec(&json!({"about": "x".repeat(200 * 1024)})).unwrap();
            let (status, answer) = app.send_raw(Method::PATCH, "/v1/profile/me", &token, "application/json", huge).await;
            assert_eq!((status, answer["error"]["message"].as_str()), (400, Some("request body is too large")));
            let (status, answer) = app.send_raw(Method::PATCH, "/v1/profile/me", &token, "application/json", b"{\"about\":".to_vec()).await;
            assert_eq!(status, 400, "{answer}");
            assert!(answer["error"]["message"].as_str().unwrap().starts_with("malformed JSON"), "{answer}");
            let (status, _) = app.send_raw(Method::PATCH, "/v1/profile/me", &token, "text/plain", b"{}".to_vec()).await;
            assert_eq!(status, 400);
            let (status, answer) = app.set_privacy(&token, json!({"last_seen": "friends", "avatar": "everyone", "about": "everyone", "discovery": "everyone"})).await;
            assert_eq!(status, 400, "{answer}");
            let (status, _) = app.set_privacy(&token, json!({"last_seen": "nobody"})).await;
            assert_eq!(status, 400, "all four settings are required");

            assert_eq!(app.get("/v1/profile/me", &token).await.1, before, "nothing changed");
            assert_eq!(app.get("/v1/profile/me/privacy", &token).await.1["version"], 0);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn privacy_is_enforced_per_viewer() {
            let app = TestApp::spawn($kind).await;
            let mut changes = app.subscribe(PRIVACY_CHANGED_TOPIC).await;
            let (owner, owner_token) = app.user_named("Owner").await;
            let (contact, contact_token) = app.user_named("Contact").await;
            let (_, stranger_token) = app.user_named("Stranger").await;
            app.patch_me(&owner_token, json!({"about": "hello", "avatar": "file-1"})).await;
            assert_eq!(app.put(&format!("/v1/contacts/{contact}"), &owner_token).await, 204);

            let (_, defaults) = app.get("/v1/profile/me/privacy", &owner_token).await;
            assert_eq!(defaults, json!({"last_seen": "contacts", "avatar": "everyone", "about": "everyone",
                "discovery": "everyone", "version": 0, "updated_at_ms": 0}));
            let view = |token: String| {
                let app = &app;
                let path = format!("/v1/profiles/{owner}");
                async move {
                    let (status, body) = app.get(&path, &token).await;
                    assert_eq!(status, 200, "{body}");
                    (body["about"].as_str().map(str::to_owned), body["avatar"].as_str().map(str::to_owned),
                        body["last_seen_visible"].as_bool().unwrap())
                }
            };
            let all = (Some("hello".to_owned()), Some("file-1".to_owned()), true);
            assert_eq!(view(stranger_token.clone()).await, (Some("hello".to_owned()), Some("file-1".to_owned()), false));
            assert_eq!(view(contact_token.clone()).await, all);

            let settings = json!({"last_seen": "nobody", "avatar": "contacts", "about": "nobody", "discovery": "everyone"});
            let (status, privacy) = app.set_privacy(&owner_token, settings.clone()).await;
            assert_eq!((status, privacy["version"].as_i64(), privacy["avatar"].as_str()), (200, Some(1), Some("contacts")));
            assert_eq!(view(stranger_token.clone()).await, (None, None, false));
            assert_eq!(view(contact_token.clone()).await, (None, Some("file-1".to_owned()), false));
            assert_eq!(view(owner_token.clone()).await, all, "owners see everything");

            // Identical settings: same version, no event.
            assert_eq!(app.set_privacy(&owner_token, settings).await.1["version"], 1);
            let (status, _) = app.set_privacy(&owner_token, json!({"last_seen": "contacts", "avatar": "nobody",
                "about": "everyone", "discovery": "contacts"})).await;
            assert_eq!(status, 200);
            assert_eq!(view(stranger_token.clone()).await, (Some("hello".to_owned()), None, false));
            assert_eq!(view(contact_token.clone()).await, (Some("hello".to_owned()), None, true));
            // Removing the contact takes "contacts" visibility away.
            assert_eq!(app.delete(&format!("/v1/contacts/{contact}"), &owner_token).await, 204);
            assert_eq!(view(contact_token).await, (Some("hello".to_owned()), None, false));

            let (key, first) = next_event::<pb::PrivacyChanged>(&mut changes, PRIVACY_CHANGED_TOPIC).await;
            assert_eq!((key.as_str(), first.version), (owner.as_str(), 1));
            let s = first.settings.unwrap();
            assert_eq!((s.last_seen, s.avatar, s.about, s.discovery), (pb::Visibility::Nobody as i32,
                pb::Visibility::Contacts as i32, pb::Visibility::Nobody as i32, pb::Visibility::Everyone as i32));
            let (_, second) = next_event::<pb::PrivacyChanged>(&mut changes, PRIVACY_CHANGED_TOPIC).await;
            assert_eq!(second.version, 2, "the identical PUT published nothing");
            assert_eq!(second.settings.unwrap().discovery, pb::Visibility::Contacts as i32);

            let (status, body) = app.get(&format!("/v1/profiles/{}", uuid::Uuid::new_v4()), &stranger_token).await;
            assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
            let (status, body) = app.get("/v1/profiles/not%20an%20id", &stranger_token).await;
            assert_eq!(status, 400, "{body}");
            assert!(body["error"]["message"].as_str().unwrap().starts_with("user_id:"));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn every_endpoint_requires_a_valid_token() {
            let app = TestApp::spawn($kind).await;
            let (other, _) = app.user_named("Other").await;
            let forged = chatflow_testkit::tokens::TestIssuer::new().token(&other, &[]);
            let endpoints = [
                (Method::GET, "/v1/profile/me".to_owned()),
                (Method::PATCH, "/v1/profile/me".to_owned()),
                (Method::GET, "/v1/profile/me/privacy".to_owned()),
                (Method::PUT, "/v1/profile/me/privacy".to_owned()),
                (Method::GET, format!("/v1/profiles/{other}")),
                (Method::GET, "/v1/contacts".to_owned()),
                (Method::PUT, format!("/v1/contacts/{other}")),
                (Method::DELETE, format!("/v1/contacts/{other}")),
                (Method::GET, "/v1/contacts/discovery/key".to_owned()),
                (Method::POST, "/v1/contacts/discover".to_owned()),
                (Method::GET, "/v1/blocks".to_owned()),
                (Method::PUT, format!("/v1/blocks/{other}")),
                (Method::DELETE, format!("/v1/blocks/{other}")),
            ];
            for (method, path) in endpoints {
                for bearer in [None, Some("not.a.jwt"), Some(forged.as_str())] {
                    let (status, body, headers) = app.request(method.clone(), &path, bearer, Some(json!({}))).await;
                    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")), "{method} {path} {bearer:?}");
                    assert!(headers.contains_key("www-authenticate"));
                }
            }
            assert_eq!(app.rows("SELECT user_id FROM profiles").await.len(), 1, "nothing written");
            let (status, doc) = app.send(Method::GET, "/v1/profile/openapi.json", None, None).await;
            assert_eq!(status, 200);
            for path in ["/v1/profile/me", "/v1/profiles/{user_id}", "/v1/contacts/discover", "/v1/blocks/{user_id}"] {
                assert!(doc["paths"].get(path).is_some(), "{path} documented");
            }
            assert!(doc["info"]["description"].as_str().unwrap().contains("E.164"));
            for schema in ["Profile", "PublicProfile", "Privacy", "PrivacySettings", "UpdateProfileRequest", "DiscoverRequest", "DiscoveryResult", "RelationPage"] {
                assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} in {}", doc["components"]["schemas"]);
            }
            app.shutdown().await;
        }

        #[tokio::test]
        async fn contacts_are_checked_and_paginated() {
            let app = TestApp::spawn($kind).await;
            let (me, token) = app.user_named("Me").await;
            let mut ids = Vec::new();
            for n in 0..5 {
                let (id, _) = app.user_named(&format!("Friend {n}")).await;
                assert_eq!(app.put(&format!("/v1/contacts/{id}"), &token).await, 204);
                assert_eq!(app.put(&format!("/v1/contacts/{id}"), &token).await, 204, "idempotent");
                ids.push(id);
            }
            ids.sort();
            let (mut seen, mut cursor) = (Vec::new(), None::<String>);
            loop {
                let path = match &cursor {
                    Some(c) => format!("/v1/contacts?limit=2&cursor={c}"),
                    None => "/v1/contacts?limit=2".to_owned(),
                };
                let (status, page) = app.get(&path, &token).await;
                assert_eq!(status, 200, "{page}");
                let items = page["items"].as_array().unwrap();
                assert!(items.len() <= 2);
                for item in items {
                    assert_eq!(item["source"], "manual");
                    seen.push(item["user_id"].as_str().unwrap().to_owned());
                }
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            assert_eq!(seen, ids);
            assert_eq!(app.delete(&format!("/v1/contacts/{}", ids[0]), &token).await, 204);
            assert_eq!(app.delete(&format!("/v1/contacts/{}", ids[0]), &token).await, 204);
            assert_eq!(app.get("/v1/contacts", &token).await.1["items"].as_array().unwrap().len(), 4);

            assert_eq!(app.put(&format!("/v1/contacts/{me}"), &token).await, 400, "yourself");
            assert_eq!(app.put(&format!("/v1/contacts/{}", uuid::Uuid::new_v4()), &token).await, 404, "no profile");
            for query in ["limit=0", "limit=100000", "limit=x", "cursor=a%20b", "sort=asc"] {
                let (status, body) = app.get(&format!("/v1/contacts?{query}"), &token).await;
                assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_argument")), "{query}: {body}");
            }
            app.shutdown().await;
        }
    };
}
