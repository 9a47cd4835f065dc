//! The fan-out handler on real ports: a stored message (as the router
//! publishes it) reaches exactly the nodes holding its members' connections,
//! and members with no connection become one `chatflow.messages.undelivered`
//! event, the author excluded.

/// Instantiates the fan-out tests for one backend kind.
#[macro_export]
macro_rules! fanout_suite {
    ($kind:expr) => {
        use std::sync::Arc;
        use std::time::Duration;

        use async_trait::async_trait;
        use chatflow_events::{Delivery, Handler};
        use chatflow_gateway::fanout::{Fanout, UNDELIVERED_TOPIC};
        use chatflow_gateway::ports::{MemberPort, PortError};
        use chatflow_gateway::registry::{NodeFrame, Registry, node_channel};
        use chatflow_proto::gateway::v1::MessagesUndelivered;
        use chatflow_proto::messages::v1 as pb;
        use chatflow_testkit::TestBackends;
        use futures::StreamExt;
        use prost::Message as _;

        struct Members(Vec<String>);

        #[async_trait]
        impl MemberPort for Members {
            async fn members(&self, _: &str) -> Result<Vec<String>, PortError> {
                Ok(self.0.clone())
            }
        }

        #[tokio::test]
        async fn messages_go_to_members_nodes_and_offline_members_are_announced() {
            let backends = TestBackends::new($kind).await;
            let cache = backends.cache().await;
            backends
                .bus
                .ensure_topic(UNDELIVERED_TOPIC, 2)
                .await
                .unwrap();
            let mut undelivered = backends
                .bus
                .subscribe("test-undelivered", &[UNDELIVERED_TOPIC.to_owned()])
                .await
                .unwrap();
            // Ada is connected on node A, Bo on node B; Cy is offline.
            let node_a = Registry::new(cache.clone(), "node-a".into(), Duration::from_secs(60));
            let node_b = Registry::new(cache.clone(), "node-b".into(), Duration::from_secs(60));
            node_a.register("ada").await.unwrap();
            node_b.register("bo").await.unwrap();
            let mut channel_a = cache.subscribe(&node_channel("node-a")).await.unwrap();
            let mut channel_b = cache.subscribe(&node_channel("node-b")).await.unwrap();
            let members = Arc::new(Members(vec!["ada".into(), "bo".into(), "cy".into()]));
            let fanout = Fanout::new(node_a.clone(), members, backends.bus.clone());

            let message = pb::Message {
                conversation_id: "g_1".into(),
                seq: 7,
                kind: pb::MessageKind::Text as i32,
                sender_id: "ada".into(),
                text: "hi".into(),
                ..Default::default()
            };
            let envelope = chatflow_outbox::envelope_for(
                "chatflow.messages.created",
                "message-router",
                "g_1",
                &message,
            );
            let delivery = Delivery {
                topic: "chatflow.messages.created".into(),
                partition: 0,
                offset: 0,
                key: b"g_1".to_vec(),
                payload: envelope.encode_to_vec().into(),
                headers: vec![],
            };
            fanout.handle(&delivery).await.unwrap();

            for (channel, user) in [(&mut channel_a, "ada"), (&mut channel_b, "bo")] {
                let payload = tokio::time::timeout(Duration::from_secs(10), channel.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                let NodeFrame::Message(node) = serde_json::from_slice(&payload).unwrap() else {
                    panic!("not a message delivery");
                };
                assert_eq!((node.seq, node.recipients), (7, vec![user.to_owned()]));
                assert_eq!(node.message["text"], "hi");
            }
            let record = tokio::time::timeout(Duration::from_secs(30), undelivered.next())
                .await
                .unwrap()
                .unwrap();
            let envelope =
                chatflow_proto::events::v1::EventEnvelope::decode(record.payload.as_ref()).unwrap();
            let event = MessagesUndelivered::decode(envelope.data.as_slice()).unwrap();
            assert_eq!(
                (event.seq, event.user_ids, event.kind.as_str()),
                (7, vec!["cy".to_owned()], "text")
            );
            assert_eq!(record.key, b"g_1");

            // A record that is not a message is a permanent failure (dead letter), not a crash.
            let junk = Delivery {
                payload: bytes::Bytes::from_static(b"junk"),
                ..delivery
            };
            assert!(matches!(
                fanout.handle(&junk).await,
                Err(chatflow_events::HandlerError::Permanent(_))
            ));
        }

        #[tokio::test]
        async fn receipts_reach_members_nodes_and_only_the_owner_in_large_groups() {
            use chatflow_gateway::receipt_fanout::ReceiptFanout;
            use chatflow_proto::receipts::v1::ReceiptsUpdated;

            let backends = TestBackends::new($kind).await;
            let cache = backends.cache().await;
            let node_a = Registry::new(cache.clone(), "node-a".into(), Duration::from_secs(60));
            let node_b = Registry::new(cache.clone(), "node-b".into(), Duration::from_secs(60));
            node_a.register("ada").await.unwrap();
            node_b.register("bo").await.unwrap();
            let mut channel_a = cache.subscribe(&node_channel("node-a")).await.unwrap();
            let mut channel_b = cache.subscribe(&node_channel("node-b")).await.unwrap();
            let members = Arc::new(Members(vec!["ada".into(), "bo".into(), "cy".into()]));
            let event = ReceiptsUpdated {
                conversation_id: "g_1".into(),
                user_id: "bo".into(),
                delivered_seq: 7,
                read_seq: 6,
                read_shared: true,
                unread: 1,
                ..Default::default()
            };
            let envelope = chatflow_outbox::envelope_for(
                chatflow_receipts::UPDATED_TOPIC,
                "receipts",
                "g_1",
                &event,
            );
            let delivery = Delivery {
                topic: chatflow_receipts::UPDATED_TOPIC.into(),
                partition: 0,
                offset: 0,
                key: b"g_1".to_vec(),
                payload: envelope.encode_to_vec().into(),
                headers: vec![],
            };
            async fn next(channel: &mut chatflow_cache::MessageStream) -> NodeFrame {
                let payload = tokio::time::timeout(Duration::from_secs(10), channel.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                serde_json::from_slice(&payload).unwrap()
            }

            // A small group: both connected members' nodes hear of Bo's marks.
            let small = ReceiptFanout::new(node_a.clone(), members.clone(), 3);
            small.handle(&delivery).await.unwrap();
            for (channel, user) in [(&mut channel_a, "ada"), (&mut channel_b, "bo")] {
                let NodeFrame::Receipt(receipt) = next(channel).await else {
                    panic!("not a receipt");
                };
                assert_eq!(receipt.recipients, [user]);
                assert_eq!(
                    (receipt.update.marks.read_seq, receipt.update.unread),
                    (Some(6), Some(1))
                );
            }
            // Over the limit: only Bo's own node; Ada's node hears nothing more.
            let large = ReceiptFanout::new(node_a.clone(), members, 2);
            large.handle(&delivery).await.unwrap();
            let NodeFrame::Receipt(receipt) = next(&mut channel_b).await else {
                panic!("not a receipt");
            };
            assert_eq!(receipt.recipients, ["bo"]);
            assert!(
                tokio::time::timeout(Duration::from_millis(300), channel_a.next())
                    .await
                    .is_err(),
                "ada's node got a receipt of a large group"
            );

            let junk = Delivery {
                payload: bytes::Bytes::from_static(b"junk"),
                ..delivery
            };
            assert!(matches!(
                small.handle(&junk).await,
                Err(chatflow_events::HandlerError::Permanent(_))
            ));
        }
    };
}
