//! The config service's behaviour, written once per backend family.

/// Instantiates every config-service test for one backend kind.
#[macro_export]
macro_rules! config_suite {
    ($kind:expr) => {
        use std::time::Duration;

        use chatflow_config::FLAG_CHANGED_TOPIC;
        use chatflow_config_client::{FlagSource, GrpcFlagSource, WatchEvent};
        use chatflow_flags::EvaluationContext;
        use chatflow_proto::config::v1 as pb;
        use chatflow_proto::config::v1::config_service_client::ConfigServiceClient;
        use futures::StreamExt;
        use prost::Message;
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::{TestApp, bool_spec, rollout_spec};

        #[tokio::test]
        async fn flags_round_trip_through_rest() {
            let app = TestApp::spawn($kind).await;
            let (status, created) = app.create("chat.composer", bool_spec()).await;
            assert_eq!(status, 201, "{created}");
            assert_eq!(created["version"], 1);
            assert_eq!(created["updated_by"], "operator");
            let (status, fetched) = app.call(Method::GET, "/v1/flags/chat.composer", None).await;
            assert_eq!((status, &fetched), (200, &created));
            let (_, list) = app.call(Method::GET, "/v1/flags", None).await;
            assert_eq!(list["flags"].as_array().map(Vec::len), Some(1));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn admin_api_requires_the_operator_token() {
            let app = TestApp::spawn($kind).await;
            let url = format!("{}/v1/flags", app.http);
            let missing = app.client.get(&url).send().await.unwrap();
            assert_eq!(missing.status(), 401);
            assert_eq!(missing.headers()["www-authenticate"], r#"Bearer realm="chatflow""#);
            let wrong = app.client.get(&url).bearer_auth("not-the-token").send().await.unwrap();
            assert_eq!(wrong.status(), 401);
            let body = json!({"key": "x.y", "spec": bool_spec()});
            let write = app.client.post(&url).json(&body).send().await.unwrap();
            assert_eq!(write.status(), 401);
            let (_, list) = app.call(Method::GET, "/v1/flags", None).await;
            assert_eq!(list["flags"], json!([]), "an unauthenticated write changed state");
            // The API description itself is public.
            let doc: serde_json::Value =
                app.client.get(format!("{}/v1/openapi.json", app.http)).send().await.unwrap().json().await.unwrap();
            assert!(doc["paths"]["/v1/flags/{key}"]["put"].is_object(), "{doc}");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn operators_access_tokens_open_the_admin_api_and_are_audited() {
            let app = TestApp::spawn($kind).await;
            let url = format!("{}/v1/flags", app.http);
            let body = json!({"key": "ops.flag", "spec": bool_spec()});
            // A valid token without the operator role: 403, nothing written.
            let user = app.issuer.token("0190e4c8-7b1a-7000-8000-000000000001", &[]);
            let denied = app.client.post(&url).bearer_auth(&user).json(&body).send().await.unwrap();
            assert_eq!(denied.status(), 403);
            assert_eq!(denied.headers()["www-authenticate"], r#"Bearer error="insufficient_scope""#);
            // A token signed by a key the service does not trust: 401.
            let forged = chatflow_testkit::tokens::TestIssuer::new()
                .token("0190e4c8-7b1a-7000-8000-000000000002", &["operator"]);
            let rejected = app.client.post(&url).bearer_auth(&forged).json(&body).send().await.unwrap();
            assert_eq!(rejected.status(), 401);
            assert_eq!(app.call(Method::GET, "/v1/flags", None).await.1["flags"], json!([]));
            // An operator: the write lands and the audit trail names the user.
            let operator_id = "0190e4c8-7b1a-7000-8000-000000000003";
            let claims = app.issuer.claims(operator_id, vec!["user".into(), "operator".into()]);
            let operator = app.issuer.sign(&claims);
            let created = app.client.post(&url).bearer_auth(&operator).json(&body).send().await.unwrap();
            assert_eq!(created.status(), 201);
            let (_, audit) = app.call(Method::GET, "/v1/flags/ops.flag/audit", None).await;
            assert_eq!(audit["entries"][0]["actor"], format!("user:{operator_id}"));
            // Once the session is revoked the same token no longer opens the API.
            app.cache
                .set(&chatflow_authn::claims::revoked_session_key(&claims.sid), b"1", None)
                .await
                .unwrap();
            let revoked = app.client.get(&url).bearer_auth(&operator).send().await.unwrap();
            assert_eq!(revoked.status(), 401);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn bad_input_is_rejected_precisely_and_changes_nothing() {
            let app = TestApp::spawn($kind).await;
            let (status, body) = app.create("Bad Key", bool_spec()).await;
            assert_eq!(status, 400);
            assert!(body["error"]["message"].as_str().unwrap().contains("Bad Key"), "{body}");

            let mut spec = rollout_spec();
            spec["rules"][0]["serve"]["buckets"][0]["weight"] = json!(4000);
            let (status, body) = app.create("ok.key", spec).await;
            assert_eq!(status, 400);
            assert_eq!(body["error"]["code"], "invalid_argument");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("rules[0].serve.buckets") && message.contains("9000"), "{message}");

            let mut spec = bool_spec();
            spec["surprise"] = json!(1);
            let (status, body) = app.create("ok.key", spec).await;
            assert_eq!(status, 400);
            assert!(body["error"]["message"].as_str().unwrap().contains("surprise"), "{body}");

            let url = format!("{}/v1/flags", app.http);
            for raw in ["{not json", "[]", "", "{\"key\": 7}"] {
                let response = app.client.post(&url).bearer_auth($crate::app::TOKEN)
                    .header("content-type", "application/json").body(raw).send().await.unwrap();
                assert_eq!(response.status(), 400, "{raw:?}");
            }
            let huge = json!({"key": "big.flag", "spec": {"kind": "string", "variants": {"a": "x".repeat(100_000)},
                "default_variant": "a", "enabled": true}});
            let response = app.client.post(&url).bearer_auth($crate::app::TOKEN).json(&huge).send().await.unwrap();
            assert_eq!(response.status(), 400, "oversized body");
            let response = app.client.delete(format!("{url}/ok.key?version=abc")).bearer_auth($crate::app::TOKEN)
                .send().await.unwrap();
            assert_eq!(response.status(), 400);

            let (_, list) = app.call(Method::GET, "/v1/flags", None).await;
            assert_eq!(list["flags"], json!([]), "rejected input changed state");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn concurrent_updates_one_wins_the_rest_conflict() {
            let app = TestApp::spawn($kind).await;
            app.create("race.flag", bool_spec()).await;
            let updates = (0..8).map(|i| {
                let mut spec = bool_spec();
                spec["description"] = json!(format!("writer {i}"));
                app.call(Method::PUT, "/v1/flags/race.flag", Some(json!({"version": 1, "spec": spec})))
            });
            let statuses: Vec<u16> = futures::future::join_all(updates).await.into_iter().map(|(s, _)| s).collect();
            assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
            assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
            let (_, flag) = app.call(Method::GET, "/v1/flags/race.flag", None).await;
            assert_eq!(flag["version"], 2);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn versions_tombstones_and_audit_trail() {
            let app = TestApp::spawn($kind).await;
            app.create("life.flag", bool_spec()).await;
            let (status, body) = app.call(Method::PUT, "/v1/flags/life.flag", Some(json!({"version": 5, "spec": bool_spec()}))).await;
            assert_eq!(status, 409);
            assert!(body["error"]["message"].as_str().unwrap().contains("version 1"), "{body}");
            let (status, _) = app.call(Method::PUT, "/v1/flags/life.flag", Some(json!({"version": 1, "spec": rollout_spec()}))).await;
            assert_eq!(status, 200);
            let (status, tombstone) = app.call(Method::DELETE, "/v1/flags/life.flag?version=2", None).await;
            assert_eq!((status, tombstone["deleted"].as_bool()), (200, Some(true)));
            assert_eq!(app.call(Method::GET, "/v1/flags/life.flag", None).await.0, 404);
            assert_eq!(app.call(Method::PUT, "/v1/flags/nope.flag", Some(json!({"version": 1, "spec": bool_spec()}))).await.0, 404);
            let (status, again) = app.create("life.flag", bool_spec()).await;
            assert_eq!((status, again["version"].as_u64()), (201, Some(4)), "versions continue after delete");
            assert_eq!(app.create("life.flag", bool_spec()).await.0, 409);
            let (_, audit) = app.call(Method::GET, "/v1/flags/life.flag/audit", None).await;
            let actions: Vec<(String, u64)> = audit["entries"].as_array().unwrap().iter()
                .map(|e| (e["action"].as_str().unwrap().to_owned(), e["version"].as_u64().unwrap()))
                .collect();
            let expected = [("create", 1), ("update", 2), ("delete", 3), ("create", 4)]
                .map(|(a, v)| (a.to_owned(), v));
            assert_eq!(actions, expected);
            assert!(audit["entries"].as_array().unwrap().iter().all(|e| e["actor"] == "operator"));
            app.shutdown().await;
        }

        #[tokio::test]
        async fn grpc_evaluate_is_deterministic_and_matches_local_evaluation() {
            let app = TestApp::spawn($kind).await;
            app.create("roll.out", rollout_spec()).await;
            let remote = GrpcFlagSource::connect_lazy(&app.grpc).unwrap();
            let mut on = 0;
            for user in 0..200 {
                let ctx = EvaluationContext::for_user(format!("user-{user}"));
                let (first, version) = remote.evaluate("roll.out", &ctx).await.unwrap();
                let (again, _) = remote.evaluate("roll.out", &ctx).await.unwrap();
                let (local, _) = app.local.evaluate("roll.out", &ctx).await.unwrap();
                assert_eq!(version, 1);
                assert_eq!(first, again, "same user, same answer");
                assert_eq!(first, local, "remote and in-process handles agree");
                on += usize::from(first.variant == "on");
            }
            // 200 users on a 50/50 split: far from all-or-nothing.
            assert!((60..=140).contains(&on), "{on} of 200 got `on`");
            app.shutdown().await;
        }

        #[tokio::test]
        async fn grpc_errors_are_typed() {
            let app = TestApp::spawn($kind).await;
            let mut client = ConfigServiceClient::connect(app.grpc.clone()).await.unwrap();
            let missing = client.evaluate(pb::EvaluateRequest { flag_key: "no.such".into(), context: None }).await.unwrap_err();
            assert_eq!(missing.code(), tonic::Code::NotFound);
            let bad = client.evaluate(pb::EvaluateRequest { flag_key: "BAD KEY".into(), context: None }).await.unwrap_err();
            assert_eq!(bad.code(), tonic::Code::InvalidArgument);
            let attributes = (0..100).map(|i| (format!("a{i}"), "v".to_owned())).collect();
            let context = Some(pb::EvaluationContext { user_id: "u".into(), attributes });
            let flood = client.evaluate(pb::EvaluateRequest { flag_key: "any.key".into(), context }).await.unwrap_err();
            assert_eq!(flood.code(), tonic::Code::InvalidArgument);
            app.shutdown().await;
        }

        #[tokio::test]
        async fn watch_sees_a_rest_change_within_a_second() {
            let app = TestApp::spawn($kind).await;
            app.create("pre.existing", bool_spec()).await;
            let remote = GrpcFlagSource::connect_lazy(&app.grpc).unwrap();
            let mut stream = remote.watch().await.unwrap();
            match stream.next().await.unwrap().unwrap() {
                WatchEvent::Snapshot(flags) => assert_eq!(flags.len(), 1),
                other => panic!("expected a snapshot first, got {other:?}"),
            }
            app.create("new.flag", bool_spec()).await;
            let change = tokio::time::timeout(Duration::from_secs(1), stream.next())
                .await
                .expect("change not pushed within a second")
                .unwrap()
                .unwrap();
            match change {
                WatchEvent::Change(flag) => assert_eq!((flag.key.as_str(), flag.version), ("new.flag", 1)),
                other => panic!("expected a change, got {other:?}"),
            }
            // Shutdown ends open watch streams instead of hanging the drain.
            app.shutdown().await;
            let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("stream not closed");
            assert!(end.map_or(true, |item| item.is_err()));
        }

        #[tokio::test]
        async fn flag_watcher_keeps_a_local_cache_current() {
            let app = TestApp::spawn($kind).await;
            app.create("cached.flag", bool_spec()).await;
            let cache = chatflow_flags::FlagCache::new();
            let remote: chatflow_config_client::FlagSourceRef =
                std::sync::Arc::new(GrpcFlagSource::connect_lazy(&app.grpc).unwrap());
            let stop = tokio_util::sync::CancellationToken::new();
            let mut watcher = chatflow_config_client::FlagWatcher::spawn(remote, cache.clone(), stop.clone());
            tokio::time::timeout(Duration::from_secs(10), watcher.synced()).await.expect("never synced");
            let anyone = EvaluationContext::for_user("u-1");
            assert!(!cache.bool_value("cached.flag", &anyone, true), "default variant is off");

            let mut applied = watcher.applied();
            let mut on = bool_spec();
            on["default_variant"] = json!("on");
            let (status, _) = app.call(Method::PUT, "/v1/flags/cached.flag", Some(json!({"version": 1, "spec": on}))).await;
            assert_eq!(status, 200);
            tokio::time::timeout(Duration::from_secs(1), applied.wait_for(|_| cache.version("cached.flag") == Some(2)))
                .await
                .expect("cache not updated within a second")
                .unwrap();
            assert!(cache.bool_value("cached.flag", &anyone, false));
            stop.cancel();
            app.shutdown().await;
        }

        #[tokio::test]
        async fn a_replica_pushes_changes_made_on_another_instance() {
            let first = TestApp::spawn($kind).await;
            let replica = TestApp::spawn_on(first.backends.clone()).await;
            let mut stream = GrpcFlagSource::connect_lazy(&replica.grpc).unwrap().watch().await.unwrap();
            assert!(matches!(stream.next().await.unwrap().unwrap(), WatchEvent::Snapshot(_)));
            first.create("cross.node", bool_spec()).await;
            // Travels through the outbox, the bus and the replica's feed.
            let change = tokio::time::timeout(Duration::from_secs(15), stream.next())
                .await
                .expect("replica never saw the change")
                .unwrap()
                .unwrap();
            assert!(matches!(change, WatchEvent::Change(ref f) if f.key.as_str() == "cross.node"), "{change:?}");
            first.shutdown().await;
            replica.shutdown().await;
        }

        #[tokio::test]
        async fn every_change_is_published_as_an_event() {
            let app = TestApp::spawn($kind).await;
            let mut sub = app.backends.bus.subscribe("config-test-reader", &[FLAG_CHANGED_TOPIC.to_owned()]).await.unwrap();
            app.create("evt.flag", bool_spec()).await;
            app.call(Method::DELETE, "/v1/flags/evt.flag?version=1", None).await;
            let mut seen = Vec::new();
            while seen.len() < 2 {
                let delivery = tokio::time::timeout(Duration::from_secs(30), sub.next()).await.expect("no event").unwrap();
                assert_eq!(delivery.key, b"evt.flag");
                let envelope = chatflow_proto::events::v1::EventEnvelope::decode(delivery.payload.as_ref()).unwrap();
                assert_eq!((envelope.r#type.as_str(), envelope.source.as_str()), (FLAG_CHANGED_TOPIC, "config"));
                let change = pb::FlagChanged::decode(envelope.data.as_slice()).unwrap();
                let flag = change.flag.unwrap();
                seen.push((flag.version, flag.deleted));
                sub.commit(&delivery).await.unwrap();
            }
            assert_eq!(seen, [(1, false), (2, true)]);
            app.shutdown().await;
        }
    };
}
