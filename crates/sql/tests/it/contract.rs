//! The relational port's contract, written once for every backend.

/// Instantiates every contract test for one backend.
#[macro_export]
macro_rules! contract_suite {
    ($fixture:path, $dialect:literal) => {
        use chatflow_errors::{ErrorKind, HasKind};
        use chatflow_sql::SqlStore;

        #[tokio::test]
        async fn reports_its_dialect() {
            let fx = $fixture().await;
            assert_eq!(fx.store.dialect().name(), $dialect);
        }

        #[tokio::test]
        async fn migrations_are_idempotent() {
            let fx = $fixture().await;
            fx.store.migrate(&$crate::test_migrations()).await.unwrap();
            fx.store.ping().await.unwrap();
        }

        #[tokio::test]
        async fn round_trips_text_integers_and_bytes() {
            let fx = $fixture().await;
            let payload = vec![0u8, 1, 255, 128];
            sqlx::query("INSERT INTO items (id, value, counter, payload) VALUES ($1, $2, $3, $4)")
                .bind("a")
                .bind("héllo ✓")
                .bind(i64::MAX)
                .bind(payload.clone())
                .execute(fx.store.pool())
                .await
                .unwrap();
            let (value, counter, bytes): (String, i64, Vec<u8>) =
                sqlx::query_as("SELECT value, counter, payload FROM items WHERE id = $1")
                    .bind("a")
                    .fetch_one(fx.store.pool())
                    .await
                    .unwrap();
            assert_eq!((value.as_str(), counter, bytes), ("héllo ✓", i64::MAX, payload));
        }

        #[tokio::test]
        async fn unique_violation_is_already_exists() {
            let fx = $fixture().await;
            insert(&fx.store, "dup").await.unwrap();
            let err = insert(&fx.store, "dup").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        }

        #[tokio::test]
        async fn dropped_transaction_rolls_back() {
            let fx = $fixture().await;
            {
                let mut tx = fx.store.begin().await.unwrap();
                sqlx::query("INSERT INTO items (id, value) VALUES ('gone', 'x')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            let mut tx = fx.store.begin().await.unwrap();
            sqlx::query("INSERT INTO items (id, value) VALUES ('kept', 'x')")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM items ORDER BY id")
                .fetch_all(fx.store.pool())
                .await
                .unwrap();
            assert_eq!(ids, vec![("kept".to_owned(),)]);
        }

        #[tokio::test]
        async fn racing_writers_on_one_row_exactly_one_wins() {
            let fx = $fixture().await;
            insert(&fx.store, "row").await.unwrap();
            // Every writer read version 1 and tries to move it to 2.
            let writers = (0..16).map(|i| {
                let store = fx.store.clone();
                tokio::spawn(async move {
                    sqlx::query(
                        "UPDATE items SET value = $1, version = version + 1 WHERE id = 'row' AND version = 1",
                    )
                    .bind(format!("writer-{i}"))
                    .execute(store.pool())
                    .await
                    .unwrap()
                    .rows_affected()
                })
            });
            let won: u64 = futures::future::join_all(writers)
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .sum();
            assert_eq!(won, 1);
            let (version,): (i64,) = sqlx::query_as("SELECT version FROM items WHERE id = 'row'")
                .fetch_one(fx.store.pool())
                .await
                .unwrap();
            assert_eq!(version, 2);
        }

        #[tokio::test]
        async fn concurrent_increments_are_not_lost() {
            let fx = $fixture().await;
            insert(&fx.store, "ctr").await.unwrap();
            let tasks = (0..8).map(|_| {
                let store = fx.store.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        sqlx::query("UPDATE items SET counter = counter + 1 WHERE id = 'ctr'")
                            .execute(store.pool())
                            .await
                            .unwrap();
                    }
                })
            });
            for task in futures::future::join_all(tasks).await {
                task.unwrap();
            }
            let (counter,): (i64,) = sqlx::query_as("SELECT counter FROM items WHERE id = 'ctr'")
                .fetch_one(fx.store.pool())
                .await
                .unwrap();
            assert_eq!(counter, 200);
        }

        #[tokio::test]
        async fn unreachable_server_is_unavailable_within_timeout() {
            let started = std::time::Instant::now();
            let err = SqlStore::connect(&$crate::unreachable_url($dialect), $crate::options("t_unreachable"))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
        }

        #[tokio::test]
        async fn closed_store_is_unavailable() {
            let fx = $fixture().await;
            fx.store.close().await;
            let err = fx.store.ping().await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        }

        async fn insert(store: &SqlStore, id: &str) -> Result<(), chatflow_sql::SqlError> {
            sqlx::query("INSERT INTO items (id, value) VALUES ($1, 'v')")
                .bind(id)
                .execute(store.pool())
                .await?;
            Ok(())
        }
    };
}
