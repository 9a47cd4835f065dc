//! Marks: monotonic, idempotent, read implies delivered, unread counts
//! across devices, own sends read, deletes still counted.

/// Instantiates the mark tests for one backend kind.
#[macro_export]
macro_rules! mark_suite {
    ($kind:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn marks_only_move_forward_and_reading_implies_delivery() {
            let app = TestApp::spawn($kind).await;
            let mut events = app.subscribe().await;
            // Reading nothing records nothing.
            let nothing = app.local.mark_read(read_req(ANN, GROUP, 0)).await.unwrap();
            assert_eq!((nothing.marks.read_seq, nothing.unread), (Some(0), 0));
            assert!(!app.store.mark(GROUP, ANN).await.unwrap().exists());
            app.feed(&[text(GROUP, 1, BOB), text(GROUP, 2, BOB), text(GROUP, 3, BOB)])
                .await;
            let gateway = app.grpc_client();
            let ack = |seq| MarkDelivered {
                user_id: ANN.into(),
                device_id: "ann-phone".into(),
                marks: vec![DeliveredMark { conversation_id: GROUP.into(), seq }],
            };
            assert_eq!(gateway.mark_delivered(ack(2)).await.unwrap(), 1);
            // Equal and lower acks change nothing.
            assert_eq!(gateway.mark_delivered(ack(2)).await.unwrap(), 0);
            assert_eq!(app.local.mark_delivered(ack(1)).await.unwrap(), 0);
            // Reading 1 keeps delivered at 2.
            let first = app.local.mark_read(read_req(ANN, GROUP, 1)).await.unwrap();
            assert_eq!(first.marks.delivered_seq, 2);
            assert_eq!(first.marks.read_seq, Some(1));
            assert_eq!(first.unread, 2);
            // The same read again, over gRPC: no change.
            let again = gateway.mark_read(read_req(ANN, GROUP, 1)).await.unwrap();
            assert_eq!(again, first);
            // A read beyond delivered moves both.
            let all = app.local.mark_read(read_req(ANN, GROUP, 3)).await.unwrap();
            assert_eq!((all.marks.delivered_seq, all.marks.read_seq, all.unread), (3, Some(3), 0));
            let stored = app.store.mark(GROUP, ANN).await.unwrap().value;
            assert_eq!((stored.delivered, stored.read), (3, 3));
            // A late, lower read is a no-op; then a sentinel change.
            assert_eq!(app.local.mark_read(read_req(ANN, GROUP, 2)).await.unwrap().marks.read_seq, Some(3));
            app.feed(&[text(GROUP, 4, BOB)]).await;
            app.local.mark_read(read_req(ANN, GROUP, 4)).await.unwrap();

            let published = collect_until(&mut events, |e| has_read(e, ANN, GROUP, 4)).await;
            let marks: Vec<(u64, u64)> = updates_of(&published, ANN, GROUP)
                .iter()
                .map(|u| (u.delivered_seq, u.read_seq))
                .collect();
            assert_eq!(marks, [(2, 0), (2, 1), (3, 3), (4, 4)], "one event per change, in order");
            app.outbox_drained().await;
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn unread_counts_are_per_user_across_devices() {
            let app = TestApp::spawn($kind).await;
            let mut events = app.subscribe().await;
            app.feed(&[
                text(GROUP, 1, BOB),
                text(GROUP, 2, CY),
                text(GROUP, 3, BOB),
                text(DIRECT, 1, BOB),
            ])
            .await;
            let counts = app.local.unread(ANN).await.unwrap();
            assert_eq!(counts.total, 4);
            let per: Vec<(&str, u64)> = counts
                .conversations
                .iter()
                .map(|c| (c.conversation_id.as_str(), c.unread))
                .collect();
            assert_eq!(per, [(DIRECT, 1), (GROUP, 3)]);
            // Device A (over gRPC, as the gateway) reads up to 2.
            let phone = MarkRead {
                device_id: "phone".into(),
                ..read_req(ANN, GROUP, 2)
            };
            assert_eq!(app.grpc_client().mark_read(phone).await.unwrap().unread, 1);
            // Device B (REST) reads everything in the group.
            let (status, body) = app
                .call(ANN, Method::POST, &format!("/v1/conversations/{GROUP}/read"), Some(json!({"seq": 3})))
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body, json!({"conversation_id": GROUP, "delivered_seq": 3, "read_seq": 3, "unread": 0}));
            // Device A's stale read changes nothing.
            assert_eq!(app.local.mark_read(read_req(ANN, GROUP, 2)).await.unwrap().unread, 0);
            let (status, body) = app.call(ANN, Method::GET, "/v1/receipts/unread", None).await;
            assert_eq!(status, 200);
            assert_eq!(
                body,
                json!({"total": 1, "conversations": [{"conversation_id": DIRECT, "unread": 1, "read_seq": 0}]})
            );
            // Others' counts are their own.
            // Cy sent 2, which marked 1 read too: only bob's 3 is unread.
            assert_eq!(app.local.unread(CY).await.unwrap().total, 1);
            let published = collect_until(&mut events, |e| has_read(e, ANN, GROUP, 3)).await;
            let ann: Vec<(String, u64, u64, u64)> = updates_of(&published, ANN, GROUP)
                .iter()
                .map(|u| (u.device_id.clone(), u.read_seq, u.unread, u.total_unread))
                .collect();
            assert_eq!(
                ann,
                [("phone".to_owned(), 2, 1, 2), ("device-1".to_owned(), 3, 0, 1)]
            );
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn own_messages_are_read_and_deleted_ones_still_count() {
            let app = TestApp::spawn($kind).await;
            let mut events = app.subscribe().await;
            app.feed(&[text(DIRECT, 1, BOB), text(DIRECT, 2, ANN)]).await;
            // Sending marked ann's own message (and what came before) read.
            let ann = app.store.mark(DIRECT, ANN).await.unwrap().value;
            assert_eq!((ann.delivered, ann.read), (2, 2));
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 0);
            assert_eq!(app.local.unread(BOB).await.unwrap().total, 1);
            // Ann deletes her message, bob reacts and edits: nothing countable.
            app.feed(&[
                aimed(DIRECT, 3, MessageKind::Delete, ANN, 2),
                aimed(DIRECT, 4, MessageKind::Reaction, BOB, 2),
                aimed(DIRECT, 5, MessageKind::Edit, BOB, 1),
                message(DIRECT, 6, MessageKind::System, "system"),
            ])
            .await;
            assert_eq!(app.store.head(DIRECT).await.unwrap().value.last_seq, 6);
            assert_eq!(
                app.local.unread(BOB).await.unwrap().total,
                1,
                "the deleted message still counts (a tombstone is shown)"
            );
            // Bob replies: his marks move to 7, ann has one unread.
            app.feed(&[text(DIRECT, 7, BOB)]).await;
            assert_eq!(app.local.unread(BOB).await.unwrap().total, 0);
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 1);
            let published = collect_until(&mut events, |e| has_read(e, BOB, DIRECT, 7)).await;
            let own = updates_of(&published, ANN, DIRECT);
            assert_eq!(own.len(), 1);
            assert_eq!(
                (own[0].read_seq, own[0].delivered_seq, own[0].unread, own[0].total_unread),
                (2, 2, 0, 0)
            );
            assert_eq!(own[0].device_id, "ann-phone");
            // A redelivered message is counted once.
            app.publish(&text(DIRECT, 7, BOB)).await;
            app.feed(&[text(DIRECT, 8, BOB)]).await;
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 2);
            assert_eq!(app.store.head(DIRECT).await.unwrap().value.ordinal, 4);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn non_members_are_refused_and_change_nothing() {
            let app = TestApp::spawn($kind).await;
            app.feed(&[text(GROUP, 1, BOB)]).await;
            let err = app.local.mark_read(read_req(EVE, GROUP, 1)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PermissionDenied);
            let status = app.grpc_client().mark_read(read_req(EVE, GROUP, 1)).await.unwrap_err();
            assert_eq!(status.kind(), ErrorKind::PermissionDenied);
            let (status, body) = app
                .call(EVE, Method::POST, &format!("/v1/conversations/{GROUP}/read"), Some(json!({"seq": 1})))
                .await;
            assert_eq!(status, 403, "{body}");
            assert_eq!(body["error"]["reason"], "not_member");
            for path in [format!("/v1/conversations/{GROUP}/receipts"), format!("/v1/conversations/{GROUP}/receipts/1")] {
                let (status, body) = app.call(EVE, Method::GET, &path, None).await;
                assert_eq!(status, 403, "{path}: {body}");
            }
            // A delivery ack for a conversation of someone else is skipped.
            let acks = MarkDelivered {
                user_id: EVE.into(),
                device_id: "eve-phone".into(),
                marks: vec![DeliveredMark { conversation_id: GROUP.into(), seq: 1 }],
            };
            assert_eq!(app.local.mark_delivered(acks).await.unwrap(), 0);
            assert!(!app.store.mark(GROUP, EVE).await.unwrap().exists());
            let snapshot = app.local.snapshot(EVE, &[GROUP.to_owned()]).await.unwrap();
            assert!(snapshot.conversations.is_empty());
            assert_eq!(app.local.unread(EVE).await.unwrap(), UnreadCounts::default());
            // An unavailable groups service changes nothing either.
            app.env.groups.set_unavailable(true);
            let err = app.local.mark_read(read_req(ANN, GROUP, 1)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable);
            app.env.groups.set_unavailable(false);
            assert_eq!(app.store.mark(GROUP, ANN).await.unwrap().value.read, 0);
            app.outbox_drained().await;
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn marks_ahead_of_the_feed_and_racing_writers_converge() {
            let app = TestApp::spawn($kind).await;
            let mut events = app.subscribe().await;
            // The gateway reports a read before the feed indexed the messages.
            app.grpc_client().mark_read(read_req(ANN, GROUP, 3)).await.unwrap();
            app.feed(&[text(GROUP, 1, BOB), text(GROUP, 2, CY), text(GROUP, 3, BOB), text(GROUP, 4, BOB)])
                .await;
            let counts = app.local.unread(ANN).await.unwrap();
            assert_eq!((counts.total, counts.conversations[0].read_seq), (1, 3));
            // Eight devices of cy's ack at once: every write lands or yields.
            let acks = (1..=8u64).map(|seq| {
                let local = app.local.clone();
                async move {
                    let ack = MarkDelivered {
                        user_id: CY.into(),
                        device_id: format!("cy-{seq}"),
                        marks: vec![DeliveredMark { conversation_id: GROUP.into(), seq }],
                    };
                    local.mark_delivered(ack).await.unwrap()
                }
            });
            let advanced: u32 = futures::future::join_all(acks).await.into_iter().sum();
            assert!((1..=6).contains(&advanced), "{advanced}: only acks above cy's own 2 can move");
            let cy = app.store.mark(GROUP, CY).await.unwrap().value;
            assert_eq!((cy.delivered, cy.read), (8, 2));
            let published = collect_until(&mut events, |e| {
                updates_of(e, CY, GROUP).iter().any(|u| u.delivered_seq == 8)
            })
            .await;
            let delivered: Vec<u64> = updates_of(&published, CY, GROUP).iter().map(|u| u.delivered_seq).collect();
            assert_eq!(delivered.len(), advanced as usize + 1, "own send + each advance: {delivered:?}");
            assert!(delivered.windows(2).all(|w| w[0] < w[1]), "in order: {delivered:?}");
            app.outbox_drained().await;
            app.shutdown().await;
        }

        #[tokio::test]
        async fn the_rest_api_is_documented() {
            let app = TestApp::spawn($kind).await;
            let response = app.rest.get(format!("{}/v1/receipts/openapi.json", app.http)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let document: serde_json::Value = response.json().await.unwrap();
            let paths = document["paths"].as_object().unwrap();
            for path in [
                "/v1/receipts/unread",
                "/v1/receipts/settings",
                "/v1/conversations/{id}/read",
                "/v1/conversations/{id}/receipts",
                "/v1/conversations/{id}/receipts/{seq}",
            ] {
                assert!(paths.contains_key(path), "{path}");
            }
            app.shutdown().await;
        }
    };
}
