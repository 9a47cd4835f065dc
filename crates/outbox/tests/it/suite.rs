//! The outbox contract, written once per relational backend.

/// Instantiates the outbox tests for one store fixture.
#[macro_export]
macro_rules! outbox_suite {
    ($fixture:path) => {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        use chatflow_events::{BusOptions, EventBusRef};
        use chatflow_outbox::{EventHeaders, Outbox, RelayOptions};
        use chatflow_proto::events::v1::EventEnvelope;
        use chatflow_sql::sqlx;
        use prost::Message;

        const TOPIC: &str = "chatflow.test.changed";

        async fn bus() -> EventBusRef {
            let bus = chatflow_events::connect("memory://", BusOptions::default())
                .await
                .unwrap();
            bus.ensure_topic(TOPIC, 4).await.unwrap();
            bus
        }

        /// Changes state and enqueues one event in the same transaction.
        async fn change(
            outbox: &Outbox,
            store: &chatflow_sql::SqlStore,
            id: &str,
            value: i64,
            commit: bool,
        ) {
            let mut tx = store.begin().await.unwrap();
            sqlx::query("INSERT INTO state (id, value) VALUES ($1, $2)")
                .bind(id)
                .bind(value)
                .execute(&mut *tx)
                .await
                .unwrap();
            let body = EventEnvelope {
                id: format!("{id}:{value}"),
                ..Default::default()
            };
            outbox
                .enqueue(&mut tx, TOPIC, "aggregate-1", &body)
                .await
                .unwrap();
            if commit {
                tx.commit().await.unwrap();
                outbox.wake();
            }
        }

        async fn read_bodies(bus: &EventBusRef, n: usize) -> Vec<String> {
            let mut sub = bus.subscribe("reader", &[TOPIC.to_owned()]).await.unwrap();
            let mut out = Vec::new();
            while out.len() < n {
                let d = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
                    .await
                    .expect("event not relayed in time")
                    .unwrap();
                let env = EventEnvelope::decode(d.payload.as_ref()).unwrap();
                assert_eq!(d.header(EventHeaders::ID), Some(env.id.as_bytes()));
                assert_eq!(env.r#type, TOPIC);
                assert_eq!(env.source, "test-svc");
                let body = EventEnvelope::decode(env.data.as_slice()).unwrap();
                out.push(body.id);
            }
            out
        }

        #[tokio::test]
        async fn committed_changes_are_relayed_in_order() {
            let fx = $fixture().await;
            let outbox = Outbox::open(fx.store.clone(), "test-svc").await.unwrap();
            for i in 0..20 {
                change(&outbox, &fx.store, &format!("s{i}"), i, true).await;
            }
            let bus = bus().await;
            while outbox.relay_once(&bus, 7).await.unwrap() > 0 {}
            let expected: Vec<String> = (0..20).map(|i| format!("s{i}:{i}")).collect();
            assert_eq!(read_bodies(&bus, 20).await, expected);
            assert_eq!(outbox.pending().await.unwrap(), 0);
        }

        #[tokio::test]
        async fn rolled_back_changes_publish_nothing() {
            let fx = $fixture().await;
            let outbox = Outbox::open(fx.store.clone(), "test-svc").await.unwrap();
            change(&outbox, &fx.store, "gone", 1, false).await;
            change(&outbox, &fx.store, "kept", 2, true).await;
            let bus = bus().await;
            assert_eq!(outbox.relay_once(&bus, 100).await.unwrap(), 1);
            assert_eq!(read_bodies(&bus, 1).await, vec!["kept:2".to_owned()]);
        }

        #[tokio::test]
        async fn bus_outage_keeps_rows_until_the_relay_succeeds() {
            let fx = $fixture().await;
            let outbox = Outbox::open(fx.store.clone(), "test-svc").await.unwrap();
            let real = bus().await;
            let down = Arc::new(AtomicBool::new(true));
            let faulty: EventBusRef = Arc::new($crate::faulty_bus::FaultyBus {
                inner: real.clone(),
                down: down.clone(),
            });
            for i in 0..3 {
                change(&outbox, &fx.store, &format!("k{i}"), i, true).await;
            }
            let err = outbox.relay_once(&faulty, 100).await.unwrap_err();
            assert_eq!(
                chatflow_errors::HasKind::kind(&err),
                chatflow_errors::ErrorKind::Unavailable
            );
            assert_eq!(
                outbox.pending().await.unwrap(),
                3,
                "nothing may be lost while the bus is down"
            );

            // The background relay retries on its own once the bus is back.
            let shutdown = tokio_util::sync::CancellationToken::new();
            let relay = {
                let (outbox, faulty, shutdown) = (outbox.clone(), faulty.clone(), shutdown.clone());
                let options = RelayOptions {
                    idle_poll: std::time::Duration::from_millis(20),
                    ..Default::default()
                };
                tokio::spawn(async move { outbox.run_relay(faulty, options, shutdown).await })
            };
            down.store(false, Ordering::SeqCst);
            assert_eq!(read_bodies(&real, 3).await, vec!["k0:0", "k1:1", "k2:2"]);
            shutdown.cancel();
            relay.await.unwrap();
            assert_eq!(outbox.pending().await.unwrap(), 0);
        }

        #[tokio::test]
        async fn reopening_keeps_unpublished_rows() {
            let fx = $fixture().await;
            let outbox = Outbox::open(fx.store.clone(), "test-svc").await.unwrap();
            change(&outbox, &fx.store, "before-crash", 7, true).await;
            drop(outbox);
            // A restarted process opens the same outbox and finds the row.
            let reopened = Outbox::open(fx.store.clone(), "test-svc").await.unwrap();
            assert_eq!(reopened.pending().await.unwrap(), 1);
            let bus = bus().await;
            reopened.relay_once(&bus, 10).await.unwrap();
            assert_eq!(
                read_bodies(&bus, 1).await,
                vec!["before-crash:7".to_owned()]
            );
        }
    };
}
