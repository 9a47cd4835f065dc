//! The event side: membership changes make and retire marks, the first
//! message records its members, junk is dead-lettered, and every change is
//! published through the outbox with the member's counts.

/// Instantiates the feed and event tests for one backend kind.
#[macro_export]
macro_rules! feed_suite {
    ($kind:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn membership_changes_make_and_retire_marks() {
            let app = TestApp::spawn($kind).await;
            let club = "g_club";
            app.env.groups.set_members(club, [ANN, BOB]);
            app.membership(club, Kind::Created, &[ANN, BOB]).await;
            let store = app.store.clone();
            let live = |user: &'static str, want: bool| {
                let store = store.clone();
                move || {
                    let store = store.clone();
                    async move { store.mark(club, user).await.unwrap().value.live == want }
                }
            };
            wait_for("the creator's marks", live(ANN, true)).await;
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 0);
            app.feed(&[text(club, 1, BOB), text(club, 2, BOB), text(club, 3, BOB)]).await;
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 3);
            // Cy joins after 3: what came before is not his to read.
            app.env.groups.add_member(club, CY);
            app.membership(club, Kind::MemberAdded, &[CY]).await;
            wait_for("cy's marks", live(CY, true)).await;
            let cy = app.store.mark(club, CY).await.unwrap().value;
            assert_eq!((cy.delivered, cy.read, cy.joined_seq), (3, 3, 3));
            app.feed(&[text(club, 4, BOB)]).await;
            assert_eq!(app.local.unread(CY).await.unwrap().total, 1);
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 4);
            // Ann is removed: the conversation leaves her counts and views.
            app.env.groups.remove_member(club, ANN);
            app.membership(club, Kind::MemberRemoved, &[ANN]).await;
            wait_for("ann's tombstone", live(ANN, false)).await;
            assert_eq!(app.local.unread(ANN).await.unwrap(), UnreadCounts::default());
            assert!(app.local.snapshot(ANN, &[club.to_owned()]).await.unwrap().conversations.is_empty());
            let members: Vec<String> = app.local.snapshot(CY, &[club.to_owned()]).await.unwrap().conversations[0]
                .members
                .iter()
                .map(|m| m.user_id.clone())
                .collect();
            assert_eq!(members, [BOB, CY]);
            // Her own message still in flight does not bring her back.
            app.publish(&text(club, 5, ANN)).await;
            app.feed(&[text(club, 6, BOB)]).await;
            assert!(!app.store.mark(club, ANN).await.unwrap().value.live);
            // Back in the group, she starts from where it is now.
            app.env.groups.add_member(club, ANN);
            app.membership(club, Kind::MemberAdded, &[ANN]).await;
            wait_for("ann's return", live(ANN, true)).await;
            assert_eq!(app.store.mark(club, ANN).await.unwrap().value.read, 6);
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 0);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn the_first_message_records_members_and_junk_is_dead_lettered() {
            let app = TestApp::spawn($kind).await;
            let dlq = chatflow_events::dead_letter_topic(chatflow_message_router::events::CREATED_TOPIC);
            app.env.backends.bus.ensure_topic(&dlq, 1).await.unwrap();
            let mut dead = app.env.backends.bus.subscribe("test-dlq", std::slice::from_ref(&dlq)).await.unwrap();
            // No membership event for the direct conversation: its first
            // message gives both users marks, so ann's total counts it.
            app.feed(&[text(DIRECT, 1, BOB)]).await;
            assert!(app.store.mark(DIRECT, ANN).await.unwrap().value.live);
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 1);
            let junk = chatflow_events::OutgoingRecord::new(
                chatflow_message_router::events::CREATED_TOPIC,
                DIRECT.as_bytes().to_vec(),
                b"not a protobuf envelope".to_vec(),
            );
            app.env.backends.bus.publish(junk).await.unwrap();
            let delivery = tokio::time::timeout(Duration::from_secs(30), dead.next())
                .await
                .expect("nothing dead-lettered")
                .unwrap();
            assert_eq!(delivery.payload.as_ref(), b"not a protobuf envelope");
            // The feed goes on.
            app.feed(&[text(DIRECT, 2, BOB)]).await;
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 2);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn counting_goes_on_while_groups_is_down() {
            let app = TestApp::spawn($kind).await;
            app.env.groups.set_unavailable(true);
            app.feed(&[text(GROUP, 1, BOB)]).await;
            let head = app.store.head(GROUP).await.unwrap().value;
            assert_eq!((head.ordinal, head.seeded), (1, false));
            assert!(!app.store.mark(GROUP, ANN).await.unwrap().exists());
            // Once groups answers, the next message records the members.
            app.env.groups.set_unavailable(false);
            app.feed(&[text(GROUP, 2, BOB)]).await;
            assert!(app.store.head(GROUP).await.unwrap().value.seeded);
            assert_eq!(app.local.unread(ANN).await.unwrap().total, 2);
            assert_eq!(app.local.unread(BOB).await.unwrap().total, 0);
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn changes_are_published_with_the_members_counts() {
            let app = TestApp::spawn($kind).await;
            let mut events = app.subscribe().await;
            app.feed(&[text(GROUP, 1, BOB), text(GROUP, 2, BOB), text(DIRECT, 1, BOB)]).await;
            let acks = MarkDelivered {
                user_id: ANN.into(),
                device_id: "ann-phone".into(),
                marks: vec![
                    DeliveredMark { conversation_id: GROUP.into(), seq: 1 },
                    DeliveredMark { conversation_id: DIRECT.into(), seq: 1 },
                    DeliveredMark { conversation_id: GROUP.into(), seq: 2 },
                ],
            };
            assert_eq!(app.grpc_client().mark_delivered(acks).await.unwrap(), 2);
            let published = collect_until(&mut events, |e| {
                !updates_of(e, ANN, GROUP).is_empty()
                    && !updates_of(e, ANN, DIRECT).is_empty()
                    && has_read(e, BOB, GROUP, 2)
            })
            .await;
            let group = updates_of(&published, ANN, GROUP);
            assert_eq!(group.len(), 1, "the highest seq of the batch, once");
            let expected = ReceiptsUpdated {
                conversation_id: GROUP.into(),
                user_id: ANN.into(),
                device_id: "ann-phone".into(),
                delivered_seq: 2,
                read_seq: 0,
                read_shared: true,
                unread: 2,
                total_unread: 3,
                updated_at_ms: group[0].updated_at_ms,
            };
            assert_eq!(*group[0], expected);
            assert!(group[0].updated_at_ms > 1_700_000_000_000);
            let direct = updates_of(&published, ANN, DIRECT);
            assert_eq!(
                (direct[0].delivered_seq, direct[0].unread, direct[0].total_unread),
                (1, 1, 3)
            );
            // Bob's own sends were published as his reads.
            let bob: Vec<u64> = updates_of(&published, BOB, GROUP).iter().map(|u| u.read_seq).collect();
            assert_eq!(bob, [1, 2]);
            app.outbox_drained().await;
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn bad_input_gets_a_typed_error_and_changes_nothing() {
            let app = TestApp::spawn($kind).await;
            app.feed(&[text(GROUP, 1, BOB)]).await;
            let invalid = |err: ReceiptsError| assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            let gateway = app.grpc_client();
            invalid(app.local.mark_read(read_req(ANN, "bad#id", 1)).await.unwrap_err());
            invalid(gateway.mark_read(read_req(ANN, "", 1)).await.unwrap_err());
            invalid(gateway.mark_read(read_req("no spaces", GROUP, 1)).await.unwrap_err());
            let batch = |marks: Vec<(&str, u64)>| MarkDelivered {
                user_id: ANN.into(),
                device_id: "ann-phone".into(),
                marks: marks
                    .into_iter()
                    .map(|(c, seq)| DeliveredMark { conversation_id: c.into(), seq })
                    .collect(),
            };
            invalid(gateway.mark_delivered(batch(vec![(GROUP, 1), ("no/slash", 1)])).await.unwrap_err());
            invalid(gateway.mark_delivered(batch(vec![])).await.unwrap_err());
            invalid(gateway.mark_delivered(batch(vec![(GROUP, 1); MAX_BATCH + 1])).await.unwrap_err());
            invalid(gateway.snapshot(ANN, &[]).await.unwrap_err());
            invalid(gateway.snapshot(ANN, &vec![GROUP.to_owned(); MAX_SNAPSHOT + 1]).await.unwrap_err());
            invalid(gateway.unread("bad#user").await.unwrap_err());

            let read_path = format!("/v1/conversations/{GROUP}/read");
            let rest_cases = [
                (json!({"seq": 1, "device": "x"}).to_string(), "application/json", "invalid_body"),
                ("{}".to_owned(), "application/json", "invalid_body"),
                (json!({"seq": "1"}).to_string(), "application/json", "invalid_body"),
                ("{\"seq\": 1".to_owned(), "application/json", "invalid_body"),
                (json!({"seq": 1}).to_string(), "text/plain", "invalid_body"),
                (format!("{{\"seq\": 1, \"pad\": \"{}\"}}", "x".repeat(2048)), "application/json", "invalid_body"),
            ];
            for (body, content_type, reason) in rest_cases {
                let (status, answer) = app.call_raw(ANN, &read_path, body.clone().into_bytes(), content_type).await;
                assert_eq!(status, 400, "{body:.80}: {answer}");
                assert_eq!(answer["error"]["reason"], reason, "{answer}");
            }
            let (status, answer) = app.call_raw(ANN, &read_path, vec![b' '; 4096], "application/json").await;
            assert_eq!(status, 400, "{answer}");
            assert!(answer["error"]["message"].as_str().unwrap().contains("too large"), "{answer}");
            // Beyond the last message seen: refused.
            let (status, answer) = app.call(ANN, Method::POST, &read_path, Some(json!({"seq": 2}))).await;
            assert_eq!(status, 409, "{answer}");
            assert_eq!(answer["error"]["reason"], "beyond_head");
            let (status, _) = app
                .call(ANN, Method::POST, "/v1/conversations/bad%23id/read", Some(json!({"seq": 1})))
                .await;
            assert_eq!(status, 400);
            let (status, answer) = app
                .call(ANN, Method::PUT, "/v1/receipts/settings", Some(json!({"reads_shared": false, "x": 1})))
                .await;
            assert_eq!((status, answer["error"]["reason"].as_str()), (400, Some("invalid_body")));
            let anonymous = app.rest.get(format!("{}/v1/receipts/unread", app.http)).send().await.unwrap();
            assert_eq!(anonymous.status().as_u16(), 401);

            // Nothing moved, nothing was published.
            let ann = app.store.mark(GROUP, ANN).await.unwrap().value;
            assert_eq!((ann.delivered, ann.read), (0, 0));
            assert!(app.local.settings(ANN).await.unwrap().reads_shared);
            app.outbox_drained().await;
            app.shutdown().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn grpc_calls_need_a_service_identity() {
            use chatflow_proto::receipts::v1 as pb;
            use chatflow_proto::receipts::v1::receipts_service_client::ReceiptsServiceClient;

            let app = TestApp::spawn($kind).await;
            let mut anonymous = ReceiptsServiceClient::connect(app.grpc.clone()).await.unwrap();
            let status = anonymous
                .unread(pb::UnreadRequest { user_id: ANN.into() })
                .await
                .unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            let forged = ServiceIdentity::new(
                "gateway",
                &Secret::new("another-secret-0123456789abcdef-0123".to_owned()),
            )
            .unwrap();
            let impostor = GrpcReceiptsClient::connect_lazy(&app.grpc, &forged).unwrap();
            let err = impostor.mark_read(read_req(ANN, GROUP, 1)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
            assert!(!app.store.mark(GROUP, ANN).await.unwrap().exists());
            app.shutdown().await;
        }
    };
}
