//! Events as consumers see them: read back from the bus.

/// Instantiates the event tests for one backend kind.
#[macro_export]
macro_rules! event_suite {
    ($kind:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_write_reaches_the_bus_in_seq_order_with_its_type() {
            use chatflow_message_router::events::{
                CREATED_TOPIC, DELETED_TOPIC, EDITED_TOPIC, REACTED_TOPIC,
            };
            use chatflow_proto::messages::v1 as pb;

            let app = TestApp::spawn($kind).await;
            let mut events = app.env.subscribe().await;
            app.send(ANN, DIRECT, "m1", "one").await;
            app.send(BOB, DIRECT, "m2", "two").await;
            app.local.edit(edit(ANN, "e1", 1, "one!")).await.unwrap();
            app.local
                .react(react(BOB, "r1", 1, "👍", false))
                .await
                .unwrap();
            app.local.delete(delete(BOB, "d1", 2)).await.unwrap();
            app.send(ANN, DIRECT, "m3", "three").await;
            // A retry publishes nothing new.
            assert!(app.send(ANN, DIRECT, "m3", "three").await.duplicate);

            let published = $crate::app::collect(&mut events, 6).await;
            let mut all: Vec<u64> = published.iter().map(|e| e.message.seq).collect();
            all.sort_unstable();
            assert_eq!(all, [1, 2, 3, 4, 5, 6], "each write once");
            for event in &published {
                let expected = match event.message.kind() {
                    pb::MessageKind::Text => CREATED_TOPIC,
                    pb::MessageKind::Edit => EDITED_TOPIC,
                    pb::MessageKind::Reaction => REACTED_TOPIC,
                    pb::MessageKind::Delete => DELETED_TOPIC,
                    other => panic!("unexpected kind {other:?}"),
                };
                assert_eq!(event.topic, expected, "seq {}", event.message.seq);
                assert_eq!(event.message.conversation_id, DIRECT);
            }
            // Per topic (and partition: one key), seqs arrive in order.
            for topic in [CREATED_TOPIC, EDITED_TOPIC, REACTED_TOPIC, DELETED_TOPIC] {
                let seqs: Vec<u64> = published
                    .iter()
                    .filter(|e| e.topic == topic)
                    .map(|e| e.message.seq)
                    .collect();
                assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{topic}: {seqs:?}");
            }
            let created: Vec<(u64, String)> = published
                .iter()
                .filter(|e| e.topic == CREATED_TOPIC)
                .map(|e| (e.message.seq, e.message.text.clone()))
                .collect();
            assert_eq!(
                created,
                [
                    (1, "one".to_owned()),
                    (2, "two".to_owned()),
                    (6, "three".to_owned())
                ]
            );
            let edit = published.iter().find(|e| e.topic == EDITED_TOPIC).unwrap();
            assert_eq!(
                (edit.message.target_seq, edit.message.text.as_str()),
                (1, "one!")
            );
            let reaction = published.iter().find(|e| e.topic == REACTED_TOPIC).unwrap();
            assert_eq!(
                reaction.message.reaction.as_ref().map(|r| r.emoji.as_str()),
                Some("👍")
            );
            let tombstone = published.iter().find(|e| e.topic == DELETED_TOPIC).unwrap();
            assert_eq!(
                (
                    tombstone.message.target_seq,
                    tombstone.message.sender_id.as_str()
                ),
                (2, BOB)
            );
            let ids: std::collections::HashSet<&str> =
                published.iter().map(|e| e.envelope_id.as_str()).collect();
            assert_eq!(ids.len(), 6);
            // Published events leave the outbox.
            let store = chatflow_message_router::store::MessageStore::new(app.env.kv.clone());
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            while store.outbox_len().await.unwrap() > 0 {
                assert!(tokio::time::Instant::now() < deadline, "outbox not drained");
                tokio::task::yield_now().await;
            }
            app.shutdown().await;
        }
    };
}
