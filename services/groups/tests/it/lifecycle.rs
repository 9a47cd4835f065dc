//! Group lifecycle and the permission rules over REST, written once per backend family.

/// Instantiates the lifecycle tests for one backend kind.
#[macro_export]
macro_rules! lifecycle_suite {
    ($kind:expr) => {
        use chatflow_groups::Config;
        use chatflow_groups_client::{Action, DenyReason};
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::TestApp;

        #[tokio::test]
        async fn a_group_lives_end_to_end_over_rest() {
            let app = TestApp::spawn($kind).await;
            let body = json!({"name": "  Cafe\u{301} crew ", "description": "Coffee\r\nmornings",
                "member_ids": ["bob", "ada", "bob"], "permissions": {"post": "everyone", "add_members": "everyone", "edit_info": "admins"}});
            let (status, group) = app.call(Method::POST, "/v1/groups", Some("ada"), Some(body)).await;
            assert_eq!(status, 201, "{group}");
            let id = group["id"].as_str().unwrap().to_owned();
            assert!(id.starts_with("g_") && id.len() == 34, "{id}");
            assert_eq!(group["name"], "Caf\u{e9} crew", "NFC and trimmed");
            assert_eq!(group["description"], "Coffee\nmornings");
            assert_eq!((group["member_count"].as_u64(), group["my_role"].as_str()), (Some(2), Some("owner")));
            assert_eq!((group["version"].as_u64(), group["membership_version"].as_u64()), (Some(1), Some(1)));

            let (status, seen) = app.get("bob", &id).await;
            assert_eq!((status, seen["my_role"].as_str()), (200, Some("member")));

            // Rename with the current version; a stale one is a conflict.
            let patch = json!({"version": 1, "name": "Crew", "avatar_file_id": "file-1"});
            let (status, renamed) = app.call(Method::PATCH, &format!("/v1/groups/{id}"), Some("ada"), Some(patch.clone())).await;
            assert_eq!(status, 200, "{renamed}");
            assert_eq!((renamed["name"].as_str(), renamed["avatar_file_id"].as_str(), renamed["version"].as_u64()), (Some("Crew"), Some("file-1"), Some(2)));
            assert_eq!(renamed["membership_version"], 1, "info changes keep the membership version");
            let (status, stale) = app.call(Method::PATCH, &format!("/v1/groups/{id}"), Some("ada"), Some(patch)).await;
            assert_eq!((status, stale["error"]["reason"].as_str()), (409, Some("version_conflict")), "{stale}");

            // Members add more people (add_members = everyone); repeats are skipped.
            let (status, added) = app.call(Method::POST, &format!("/v1/groups/{id}/members"), Some("bob"),
                Some(json!({"user_ids": ["cy", "dee", "ada"]}))).await;
            assert_eq!(status, 200, "{added}");
            assert_eq!(added["changed"], json!(["cy", "dee"]));
            assert_eq!((added["member_count"].as_u64(), added["membership_version"].as_u64()), (Some(4), Some(2)));

            // Roles, a transfer, and paging through members and conversations.
            let (status, _) = app.call(Method::PUT, &format!("/v1/groups/{id}/members/bob/role"), Some("ada"), Some(json!({"role": "admin"}))).await;
            assert_eq!(status, 200);
            let (status, _) = app.call(Method::POST, &format!("/v1/groups/{id}/transfer"), Some("ada"), Some(json!({"user_id": "cy"}))).await;
            assert_eq!(status, 200);
            assert_eq!(app.get("cy", &id).await.1["my_role"], "owner");
            assert_eq!(app.get("ada", &id).await.1["my_role"], "admin");
            let (_, page) = app.call(Method::GET, &format!("/v1/groups/{id}/members?limit=3"), Some("dee"), None).await;
            let names: Vec<&str> = page["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
            assert_eq!(names, ["ada", "bob", "cy"]);
            let cursor = page["next_cursor"].as_str().unwrap();
            let (_, rest) = app.call(Method::GET, &format!("/v1/groups/{id}/members?limit=3&cursor={cursor}"), Some("dee"), None).await;
            assert_eq!(rest["members"][0]["user_id"], "dee");
            assert_eq!(rest["next_cursor"], serde_json::Value::Null);

            // The owner leaves: ownership passes to the longest-standing admin.
            let (status, left) = app.call(Method::POST, &format!("/v1/groups/{id}/leave"), Some("cy"), None).await;
            assert_eq!((status, left["member_count"].as_u64()), (200, Some(3)), "{left}");
            assert_eq!(app.get("cy", &id).await.0, 404, "a former member no longer sees the group");
            let (_, ada) = app.get("ada", &id).await;
            assert_eq!(ada["my_role"], "owner", "admins first, then seniority (both joined at creation), then user id");

            let second = app.group("ada", &[]).await;
            let (_, mine) = app.call(Method::GET, "/v1/groups?limit=1", Some("ada"), None).await;
            assert_eq!(mine["conversations"].as_array().unwrap().len(), 1);
            let cursor = mine["next_cursor"].as_str().unwrap();
            let (_, more) = app.call(Method::GET, &format!("/v1/groups?limit=1&cursor={cursor}"), Some("ada"), None).await;
            let ids = [mine["conversations"][0]["id"].as_str().unwrap(), more["conversations"][0]["id"].as_str().unwrap()];
            assert_eq!(ids, [id.as_str(), second.as_str()], "by id, which sorts by creation");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn permissions_follow_roles_and_settings() {
            let app = TestApp::spawn($kind).await;
            let id = app.group("olga", &["adam", "mia", "max"]).await;
            let path = |tail: &str| format!("/v1/groups/{id}{tail}");
            assert_eq!(app.call(Method::PUT, &path("/members/adam/role"), Some("olga"), Some(json!({"role": "admin"}))).await.0, 200);

            // A member may neither add (default add_members = admins) nor edit nor remove.
            let (status, body) = app.call(Method::POST, &path("/members"), Some("mia"), Some(json!({"user_ids": ["zed"]}))).await;
            assert_eq!((status, body["error"]["reason"].as_str()), (403, Some("admins_only")), "{body}");
            let (status, _) = app.call(Method::PATCH, &path(""), Some("mia"), Some(json!({"version": 1, "name": "Mine"}))).await;
            assert_eq!(status, 403);
            assert_eq!(app.call(Method::DELETE, &path("/members/max"), Some("mia"), None).await.0, 403);
            assert_eq!(app.call(Method::PUT, &path("/members/max/role"), Some("mia"), Some(json!({"role": "admin"}))).await.0, 403);
            // An admin may; but not act on another admin or the owner.
            assert_eq!(app.call(Method::POST, &path("/members"), Some("adam"), Some(json!({"user_ids": ["zed"]}))).await.0, 200);
            assert_eq!(app.call(Method::DELETE, &path("/members/zed"), Some("adam"), None).await.0, 200);
            assert_eq!(app.call(Method::PUT, &path("/members/max/role"), Some("adam"), Some(json!({"role": "admin"}))).await.0, 200);
            let (status, body) = app.call(Method::DELETE, &path("/members/max"), Some("adam"), None).await;
            assert_eq!((status, body["error"]["reason"].as_str()), (403, Some("insufficient_role")));
            assert_eq!(app.call(Method::DELETE, &path("/members/olga"), Some("adam"), None).await.0, 403);
            let (status, body) = app.call(Method::PUT, &path("/members/adam/role"), Some("olga"), Some(json!({"role": "owner"}))).await;
            assert_eq!((status, body["error"]["reason"].as_str()), (400, Some("use_transfer")));
            assert_eq!(app.call(Method::POST, &path("/transfer"), Some("adam"), Some(json!({"user_id": "mia"}))).await.0, 403);
            // The owner demotes and removes admins.
            assert_eq!(app.call(Method::PUT, &path("/members/max/role"), Some("olga"), Some(json!({"role": "member"}))).await.0, 200);

            // Posting restricted to admins.
            let member_post = app.local.authorize("mia", &id, Action::Post).await.unwrap();
            assert!(member_post.allowed);
            let (_, group) = app.get("olga", &id).await;
            let version = group["version"].as_u64().unwrap();
            let settings = json!({"version": version, "post": "admins", "add_members": "admins", "edit_info": "admins"});
            assert_eq!(app.call(Method::PUT, &path("/permissions"), Some("mia"), Some(settings.clone())).await.0, 403);
            let (status, updated) = app.call(Method::PUT, &path("/permissions"), Some("adam"), Some(settings)).await;
            assert_eq!(status, 200, "{updated}");
            assert_eq!(updated["permissions"]["post"], "admins");
            assert!(updated["membership_version"].as_u64() > group["membership_version"].as_u64(), "permissions change answers");
            let denied = app.local.authorize("mia", &id, Action::Post).await.unwrap();
            assert_eq!((denied.allowed, denied.reason), (false, Some(DenyReason::AdminsOnly)));
            assert!(app.local.authorize("mia", &id, Action::Read).await.unwrap().allowed);
            assert!(app.local.authorize("adam", &id, Action::Post).await.unwrap().allowed);
            assert!(app.local.authorize("olga", &id, Action::ManageRoles).await.unwrap().allowed);
            assert!(!app.local.authorize("mia", &id, Action::ManageRoles).await.unwrap().allowed);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn non_members_see_nothing_and_may_do_nothing() {
            let app = TestApp::spawn($kind).await;
            let id = app.group("olga", &["mia"]).await;
            for (method, tail, body) in [
                (Method::GET, "", None),
                (Method::GET, "/members", None),
                (Method::POST, "/members", Some(json!({"user_ids": ["eve"]}))),
                (Method::PATCH, "", Some(json!({"version": 1, "name": "Mine"}))),
                (Method::POST, "/leave", None),
                (Method::POST, "/invites", Some(json!({}))),
            ] {
                let (status, body) = app.call(method.clone(), &format!("/v1/groups/{id}{tail}"), Some("eve"), body).await;
                assert_eq!((status, body["error"]["reason"].as_str()), (404, Some("not_found")), "{method} {tail}: {body}");
            }
            let answer = app.local.authorize("eve", &id, Action::Read).await.unwrap();
            assert_eq!((answer.allowed, answer.reason, answer.role), (false, Some(DenyReason::NotMember), None));
            let unknown = app.local.authorize("eve", "g_0123456789abcdef0123456789abcdef", Action::Read).await.unwrap();
            assert_eq!((unknown.reason, unknown.membership_version), (Some(DenyReason::NotFound), 0));
            assert_eq!(app.call(Method::GET, "/v1/groups/not-an-id", Some("eve"), None).await.0, 404);
            // No token at all.
            let (status, _) = app.call(Method::GET, &format!("/v1/groups/{id}"), None, None).await;
            assert_eq!(status, 401);
            assert_eq!(app.get("mia", &id).await.1["member_count"], 2, "nothing changed");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn the_member_limit_holds() {
            let config = Config { member_limit: 3, ..Config::default() };
            let app = TestApp::spawn_with($kind, config).await;
            let body = json!({"name": "Big", "member_ids": ["a", "b", "c"]});
            let (status, refused) = app.call(Method::POST, "/v1/groups", Some("own"), Some(body)).await;
            assert_eq!((status, refused["error"]["reason"].as_str()), (400, Some("group_full")), "{refused}");
            let id = app.group("own", &["a"]).await;
            let (status, full) = app.call(Method::POST, &format!("/v1/groups/{id}/members"), Some("own"), Some(json!({"user_ids": ["b", "c"]}))).await;
            assert_eq!((status, full["error"]["reason"].as_str()), (409, Some("group_full")), "{full}");
            assert_eq!(app.get("own", &id).await.1["member_count"], 2, "all or nothing");
            assert_eq!(app.call(Method::POST, &format!("/v1/groups/{id}/members"), Some("own"), Some(json!({"user_ids": ["b"]}))).await.0, 200);
            let (_, invite) = app.call(Method::POST, &format!("/v1/groups/{id}/invites"), Some("own"), Some(json!({}))).await;
            let (status, body) = app.call(Method::POST, "/v1/groups/join", Some("late"), Some(json!({"token": invite["token"]}))).await;
            assert_eq!((status, body["error"]["reason"].as_str()), (409, Some("group_full")));
            assert_eq!(app.get("own", &id).await.1["member_count"], 3);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn bad_input_is_a_typed_400_and_changes_nothing() {
            let app = TestApp::spawn($kind).await;
            let url = format!("{}/v1/groups", app.http);
            let token = app.issuer.token("ada", &[]);
            for raw in ["{not json", "[]", "", "{\"name\": 7}", "{\"name\": \"x\", \"surprise\": 1}"] {
                let response = app.client.post(&url).bearer_auth(&token).header("content-type", "application/json")
                    .body(raw).send().await.unwrap();
                assert_eq!(response.status(), 400, "{raw:?}");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!((body["error"]["code"].as_str(), body["error"]["reason"].as_str()), (Some("invalid_argument"), Some("invalid_body")), "{raw:?}");
            }
            for (body, field) in [
                (json!({"name": "bad\u{202E}name"}), "name"),
                (json!({"name": ""}), "name"),
                (json!({"name": "x".repeat(129)}), "name"),
                (json!({"name": "ok", "member_ids": ["fine", "not fine"]}), "member_ids[1]"),
                (json!({"name": "ok", "avatar_file_id": "../etc"}), "avatar_file_id"),
                (json!({"name": "ok", "permissions": {"post": "nobody", "add_members": "admins", "edit_info": "admins"}}), "permissions"),
            ] {
                let (status, answer) = app.call(Method::POST, "/v1/groups", Some("ada"), Some(body)).await;
                assert_eq!(status, 400, "{answer}");
                assert!(answer["error"]["message"].as_str().unwrap().contains(field), "{field}: {answer}");
            }
            let huge = json!({"name": "ok", "description": "x".repeat(100_000)});
            let (status, _) = app.call(Method::POST, "/v1/groups", Some("ada"), Some(huge)).await;
            assert_eq!(status, 400, "oversized body");
            let (status, _) = app.call(Method::GET, "/v1/groups?limit=abc", Some("ada"), None).await;
            assert_eq!(status, 400);
            let (status, _) = app.call(Method::GET, "/v1/groups?limit=0", Some("ada"), None).await;
            assert_eq!(status, 400);
            let (_, mine) = app.call(Method::GET, "/v1/groups", Some("ada"), None).await;
            assert_eq!(mine["conversations"], json!([]), "rejected input changed state");
            // The API description is public.
            let doc: serde_json::Value = app.client.get(format!("{url}/openapi.json")).send().await.unwrap().json().await.unwrap();
            assert!(doc["paths"]["/v1/groups/{id}/members/{user_id}/role"]["put"].is_object(), "{doc}");
            app.shutdown().await;
        }
    };
}
