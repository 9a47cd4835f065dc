//! Invite links, written once per backend family.

/// Instantiates the invite-link tests for one backend kind.
#[macro_export]
macro_rules! invite_suite {
    ($kind:expr) => {
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::TestApp;

        async fn join(app: &TestApp, user: &str, token: &serde_json::Value) -> (u16, Option<String>) {
            let (status, body) = app.call(Method::POST, "/v1/groups/join", Some(user), Some(json!({"token": token}))).await;
            (status, body["error"]["reason"].as_str().map(str::to_owned))
        }

        #[tokio::test]
        async fn a_link_admits_until_its_uses_run_out() {
            let app = TestApp::spawn($kind).await;
            let id = app.group("olga", &["mia"]).await;
            let (status, invite) = app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("olga"),
                Some(json!({"max_uses": 2, "expires_in_secs": 3600}))).await;
            assert_eq!(status, 201, "{invite}");
            let token = invite["token"].clone();
            assert!(token.as_str().unwrap().starts_with(invite["id"].as_str().unwrap()));
            let (status, group) = app.call(Method::POST, "/v1/groups/join", Some("ann"), Some(json!({"token": token}))).await;
            assert_eq!((status, group["my_role"].as_str()), (200, Some("member")), "{group}");
            // Joining again is harmless and does not use the link.
            assert_eq!(join(&app, "ann", &token).await, (200, None));
            assert_eq!(join(&app, "ben", &token).await, (200, None));
            assert_eq!(join(&app, "cat", &token).await, (403, Some("invite_exhausted".into())));
            assert_eq!(app.get("olga", &id).await.1["member_count"], 4);
            let (_, list) = app.call(Method::GET, &format!("/v1/groups/{id}/invites"), Some("olga"), None).await;
            assert_eq!(list["invites"], json!([]), "a used-up link is no longer listed");
            // Members may not create links while add_members = admins.
            let (status, _) = app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("mia"), Some(json!({}))).await;
            assert_eq!(status, 403);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn concurrent_joins_and_edits_respect_limits_and_versions() {
            let app = TestApp::spawn($kind).await;
            let id = app.group("olga", &[]).await;
            let (_, invite) = app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("olga"), Some(json!({"max_uses": 3}))).await;
            let token = invite["token"].clone();
            let users: Vec<String> = (0..8).map(|i| format!("user-{i}")).collect();
            let joins = users.iter().map(|u| join(&app, u, &token));
            let outcomes = futures::future::join_all(joins).await;
            let joined = outcomes.iter().filter(|(s, _)| *s == 200).count();
            let exhausted = outcomes.iter().filter(|o| o.1.as_deref() == Some("invite_exhausted")).count();
            assert_eq!((joined, exhausted), (3, 5), "{outcomes:?}");
            let (_, group) = app.get("olga", &id).await;
            assert_eq!((group["member_count"].as_u64(), group["membership_version"].as_u64()), (Some(4), Some(4)));
            let path = format!("/v1/groups/{id}");
            let edits = (0..6).map(|i| app.call(Method::PATCH, &path, Some("olga"),
                Some(json!({"version": 1, "name": format!("Name {i}")}))));
            let statuses: Vec<u16> = futures::future::join_all(edits).await.into_iter().map(|(s, _)| s).collect();
            assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
            assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 5, "{statuses:?}");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn revoked_expired_and_tampered_links_are_refused_with_their_reason() {
            let app = TestApp::spawn($kind).await;
            let id = app.group("olga", &["adam"]).await;
            let (_, invite) = app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("olga"), Some(json!({}))).await;
            let token = invite["token"].as_str().unwrap().to_owned();
            let invite_id = invite["id"].as_str().unwrap().to_owned();

            // Tampered: another expiry, a flipped signature, garbage, an unknown but well-signed id.
            let (_, stamp, _) = { let p: Vec<&str> = token.split('.').collect(); (p[0], p[1], p[2]) };
            let later = token.replacen(&format!(".{stamp}."), &format!(".{}.", stamp.parse::<i64>().unwrap() + 1), 1);
            let mut flipped = token.clone();
            let last = flipped.pop().map(|c| if c == 'A' { 'B' } else { 'A' }).unwrap();
            flipped.push(last);
            let unknown = app.invite_key.sign("0190e4c87b1a70008000000000000001", i64::MAX / 2);
            for bad in [later, flipped, "garbage".to_owned(), unknown] {
                assert_eq!(join(&app, "eve", &json!(bad)).await, (400, Some("invite_invalid".into())), "{bad}");
            }
            // Expired: the same id, validly signed with a past expiry.
            let expired = app.invite_key.sign(&invite_id, chatflow_runtime::clock::now_ms() - 1);
            assert_eq!(join(&app, "eve", &json!(expired)).await, (403, Some("invite_expired".into())));
            assert_eq!(app.get("olga", &id).await.1["member_count"], 2, "no refused join changed anything");

            // Revoked by its creator (twice is fine), then refused.
            let path = format!("/v1/groups/{id}/invites/{invite_id}");
            assert_eq!(app.call(Method::DELETE, &path, Some("adam"), None).await.0, 403, "neither creator nor admin");
            assert_eq!(app.call(Method::DELETE, &path, Some("olga"), None).await.0, 204);
            assert_eq!(app.call(Method::DELETE, &path, Some("olga"), None).await.0, 204);
            assert_eq!(join(&app, "eve", &json!(token)).await, (403, Some("invite_revoked".into())));

            // A link dies with its creator's right to invite.
            let (_, by_adam) = {
                assert_eq!(app.call(Method::PUT, &format!("/v1/groups/{id}/members/adam/role"), Some("olga"), Some(json!({"role": "admin"}))).await.0, 200);
                app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("adam"), Some(json!({}))).await
            };
            assert_eq!(app.call(Method::DELETE, &format!("/v1/groups/{id}/members/adam"), Some("olga"), None).await.0, 200);
            assert_eq!(join(&app, "eve", &by_adam["token"]).await, (403, Some("invite_revoked".into())));

            // Bad link settings.
            for body in [json!({"max_uses": 0}), json!({"expires_in_secs": 0}), json!({"expires_in_secs": 10_u64.pow(12)})] {
                let (status, answer) = app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("olga"), Some(body)).await;
                assert_eq!((status, answer["error"]["reason"].as_str()), (400, Some("invalid_field")), "{answer}");
            }
            app.shutdown().await;
        }
    };
}
