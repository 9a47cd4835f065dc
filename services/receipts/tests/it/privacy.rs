//! Privacy and group views: hidden read marks (both ways, own always
//! visible), the settings event, and one message's "read by".

/// Instantiates the privacy tests for one backend kind.
#[macro_export]
macro_rules! privacy_suite {
    ($kind:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn hidden_read_marks_are_hidden_both_ways() {
            let app = TestApp::spawn($kind).await;
            let mut events = app.subscribe().await;
            app.feed(&[text(GROUP, 1, BOB), text(GROUP, 2, BOB)]).await;
            app.local.mark_read(read_req(ANN, GROUP, 2)).await.unwrap();
            app.local.mark_read(read_req(CY, GROUP, 1)).await.unwrap();
            let (status, body) = app.call(ANN, Method::GET, "/v1/receipts/settings", None).await;
            assert_eq!((status, body), (200, json!({"reads_shared": true})));
            let hide = Some(json!({"reads_shared": false}));
            let (status, body) = app.call(ANN, Method::PUT, "/v1/receipts/settings", hide.clone()).await;
            assert_eq!((status, body), (200, json!({"reads_shared": false})));
            // Setting it again is not a change.
            assert_eq!(app.call(ANN, Method::PUT, "/v1/receipts/settings", hide).await.0, 200);
            assert!(!app.grpc_client().settings(ANN).await.unwrap().reads_shared);

            // Bob sees ann's delivery but not her read mark; cy's read mark and his own.
            let marks = |snapshot: &Snapshot| -> Vec<(String, u64, Option<u64>)> {
                snapshot.conversations[0]
                    .members
                    .iter()
                    .map(|m| (m.user_id.clone(), m.delivered_seq, m.read_seq))
                    .collect()
            };
            let bob = app.grpc_client().snapshot(BOB, &[GROUP.to_owned()]).await.unwrap();
            assert!(bob.reads_shared);
            assert_eq!(
                marks(&bob),
                [(ANN.to_owned(), 2, None), (BOB.to_owned(), 2, Some(2)), (CY.to_owned(), 1, Some(1))]
            );
            // Ann, who hides hers, sees nobody's but her own.
            let ann = app.local.snapshot(ANN, &[GROUP.to_owned()]).await.unwrap();
            assert!(!ann.reads_shared);
            assert_eq!(
                marks(&ann),
                [(ANN.to_owned(), 2, Some(2)), (BOB.to_owned(), 2, None), (CY.to_owned(), 1, None)]
            );
            assert_eq!(ann.conversations[0].unread, 0);
            let (status, body) = app
                .call(CY, Method::GET, &format!("/v1/conversations/{GROUP}/receipts"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body,
                json!({"conversation_id": GROUP, "unread": 1, "reads_shared": true, "members": [
                    {"user_id": ANN, "delivered_seq": 2, "read_seq": null},
                    {"user_id": BOB, "delivered_seq": 2, "read_seq": 2},
                    {"user_id": CY, "delivered_seq": 1, "read_seq": 1},
                ]})
            );
            // Her events say her marks are private; then she shares again.
            app.feed(&[text(GROUP, 3, BOB)]).await;
            app.local.mark_read(read_req(ANN, GROUP, 3)).await.unwrap();
            let shown = Some(json!({"reads_shared": true}));
            assert_eq!(app.call(ANN, Method::PUT, "/v1/receipts/settings", shown).await.0, 200);
            let bob = app.local.snapshot(BOB, &[GROUP.to_owned()]).await.unwrap();
            assert_eq!(marks(&bob)[0], (ANN.to_owned(), 3, Some(3)));

            let published = collect_until(&mut events, |e| {
                e.iter().any(|e| matches!(e, Event::Settings(s) if s.reads_shared))
                    && has_read(e, ANN, GROUP, 3)
            })
            .await;
            let settings: Vec<(String, bool)> = published
                .iter()
                .filter_map(|e| match e {
                    Event::Settings(s) => Some((s.user_id.clone(), s.reads_shared)),
                    Event::Updated(_) => None,
                })
                .collect();
            assert_eq!(settings, [(ANN.to_owned(), false), (ANN.to_owned(), true)]);
            let ann_read = updates_of(&published, ANN, GROUP);
            assert!(!ann_read.last().unwrap().read_shared);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn message_aggregates_count_delivery_and_visible_reads() {
            let app = TestApp::spawn($kind).await;
            let club = "g_club";
            app.env.groups.set_members(club, [ANN, BOB, CY, DAN, FAY]);
            app.feed(&[text(club, 1, ANN)]).await;
            let acks = MarkDelivered {
                user_id: BOB.into(),
                device_id: "bob-phone".into(),
                marks: vec![DeliveredMark { conversation_id: club.into(), seq: 1 }],
            };
            assert_eq!(app.local.mark_delivered(acks).await.unwrap(), 1);
            app.local.mark_read(read_req(CY, club, 1)).await.unwrap();
            app.local.mark_read(read_req(DAN, club, 1)).await.unwrap();
            let hide = Some(json!({"reads_shared": false}));
            assert_eq!(app.call(DAN, Method::PUT, "/v1/receipts/settings", hide.clone()).await.0, 200);
            // A member who joins later is not counted for earlier messages.
            app.env.groups.add_member(club, "gus");
            app.membership(club, Kind::MemberAdded, &["gus"]).await;
            let store = app.store.clone();
            wait_for("gus's marks", || {
                let store = store.clone();
                async move { store.mark(club, "gus").await.unwrap().value.live }
            })
            .await;
            let path = format!("/v1/conversations/{club}/receipts/1");
            // The sender's view: everyone else.
            let (status, body) = app.call(ANN, Method::GET, &path, None).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body,
                json!({"seq": 1, "members": 4, "delivered": 3, "read": 1,
                    "delivered_to": [BOB, CY, DAN], "read_by": [CY]})
            );
            // Another member's view leaves out the sender and the viewer.
            let (_, body) = app.call(BOB, Method::GET, &path, None).await;
            assert_eq!(
                body,
                json!({"seq": 1, "members": 3, "delivered": 2, "read": 1,
                    "delivered_to": [CY, DAN], "read_by": [CY]})
            );
            // A viewer hiding their reads sees no reads at all.
            assert_eq!(app.call(ANN, Method::PUT, "/v1/receipts/settings", hide).await.0, 200);
            let (_, body) = app.call(ANN, Method::GET, &path, None).await;
            assert_eq!(
                body,
                json!({"seq": 1, "members": 4, "delivered": 3, "read": null,
                    "delivered_to": [BOB, CY, DAN], "read_by": null})
            );
            for bad in ["0", "abc", "-1"] {
                let (status, body) = app
                    .call(ANN, Method::GET, &format!("/v1/conversations/{club}/receipts/{bad}"), None)
                    .await;
                assert_eq!(status, 400, "{bad}: {body}");
            }
            app.shutdown().await;
        }
    };
}
