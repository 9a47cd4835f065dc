//! The outbox table, created in the service's own schema or file.

use chatflow_sql::{Dialect, SqlStore};

use crate::OutboxError;

/// Creates the outbox tables if missing; idempotent, safe to race.
pub async fn ensure(store: &SqlStore) -> Result<(), OutboxError> {
    let statements: &[&str] = match store.dialect() {
        Dialect::Postgres => &[
            "CREATE TABLE IF NOT EXISTS outbox (
                id BIGSERIAL PRIMARY KEY,
                topic TEXT NOT NULL,
                record_key BYTEA NOT NULL,
                payload BYTEA NOT NULL,
                headers TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS outbox_relay_lock (id BIGINT PRIMARY KEY)",
            "INSERT INTO outbox_relay_lock (id) VALUES (1) ON CONFLICT DO NOTHING",
        ],
        Dialect::Sqlite => &["CREATE TABLE IF NOT EXISTS outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                topic TEXT NOT NULL,
                record_key BLOB NOT NULL,
                payload BLOB NOT NULL,
                headers TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL
            )"],
    };
    for statement in statements {
        match sqlx_execute(store, statement).await {
            // Concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL's catalog.
            Ok(()) | Err(OutboxError::Sql(chatflow_sql::SqlError::AlreadyExists(_))) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

async fn sqlx_execute(store: &SqlStore, statement: &str) -> Result<(), OutboxError> {
    chatflow_sql::sqlx::query(statement)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Encodes record headers as JSON pairs of (name, hex value) for the TEXT column.
pub fn encode_headers(headers: &[(String, Vec<u8>)]) -> String {
    let pairs: Vec<(&str, String)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), hex::encode(value)))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

/// Decodes what [`encode_headers`] wrote.
pub fn decode_headers(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let pairs: Vec<(String, String)> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    pairs
        .into_iter()
        .map(|(name, value)| Ok((name, hex::decode(value).map_err(|e| e.to_string())?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_including_binary_values() {
        let headers = vec![
            ("traceparent".to_owned(), b"00-abc-def-01".to_vec()),
            ("bin".to_owned(), vec![0, 255, 10]),
        ];
        assert_eq!(decode_headers(&encode_headers(&headers)), Ok(headers));
    }

    #[test]
    fn corrupt_headers_are_an_error_not_a_panic() {
        assert!(decode_headers("not json").is_err());
        assert!(decode_headers(r#"[["a","zz"]]"#).is_err());
    }
}
