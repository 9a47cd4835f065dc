//! Flag persistence: definitions, versions, tombstones and the audit trail,
//! with every change's event written to the outbox in the same transaction.

use chatflow_flags::{FlagKey, FlagSpec, StoredFlag};
use chatflow_outbox::Outbox;
use chatflow_proto::config::v1 as pb;
use chatflow_runtime::clock::now_ms;
use chatflow_sql::sqlx::{self, Any, Row, Transaction};
use chatflow_sql::{Migrations, SqlStore};
use serde::Serialize;

use crate::{ConfigError, FLAG_CHANGED_TOPIC};

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// One audit record: who did what to which flag, and the spec it left.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The flag key.
    pub key: String,
    /// The version the change produced.
    pub version: u64,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// Who made the change.
    pub actor: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
    /// The spec after the change (absent for deletes).
    #[schema(value_type = Option<Object>)]
    pub spec: Option<serde_json::Value>,
}

/// Flags in the relational store; cheap to clone.
#[derive(Clone, Debug)]
pub struct FlagStore {
    sql: SqlStore,
    outbox: Outbox,
}

const SELECT_FLAG: &str =
    "SELECT flag_key, spec, version, deleted, updated_at_ms, updated_by FROM flags";

impl FlagStore {
    /// Runs migrations and opens the outbox.
    pub async fn open(sql: SqlStore) -> Result<Self, ConfigError> {
        sql.migrate(&Migrations {
            postgres: &PG_MIGRATIONS,
            sqlite: &SQLITE_MIGRATIONS,
        })
        .await?;
        let outbox = Outbox::open(sql.clone(), "config").await?;
        Ok(Self { sql, outbox })
    }

    /// The outbox whose relay publishes this store's change events.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Creates a flag (or re-creates a deleted one, continuing its versions).
    pub async fn create(
        &self,
        key: &FlagKey,
        spec: &FlagSpec,
        actor: &str,
    ) -> Result<StoredFlag, ConfigError> {
        chatflow_flags::validate(spec)?;
        let spec_json = to_json(spec);
        let now = now_ms();
        let mut tx = self.sql.begin().await?;
        let existing = fetch(&mut *tx, key.as_str()).await?;
        let changed = match existing {
            Some(flag) if !flag.deleted => return Err(ConfigError::AlreadyExists(key.to_string())),
            Some(tombstone) => sqlx::query(
                "UPDATE flags SET spec = $1, version = version + 1, deleted = 0, updated_at_ms = $2, \
                 updated_by = $3 WHERE flag_key = $4 AND version = $5 AND deleted = 1",
            )
            .bind(&spec_json)
            .bind(now)
            .bind(actor)
            .bind(key.as_str())
            .bind(tombstone.version as i64)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            None => sqlx::query(
                "INSERT INTO flags (flag_key, spec, version, deleted, updated_at_ms, updated_by) \
                 VALUES ($1, $2, 1, 0, $3, $4)",
            )
            .bind(key.as_str())
            .bind(&spec_json)
            .bind(now)
            .bind(actor)
            .execute(&mut *tx)
            .await
            .map_err(|e| match chatflow_sql::SqlError::from(e) {
                chatflow_sql::SqlError::AlreadyExists(_) => ConfigError::AlreadyExists(key.to_string()),
                other => other.into(),
            })?
            .rows_affected(),
        };
        if changed == 0 {
            return Err(ConfigError::AlreadyExists(key.to_string()));
        }
        self.finish(tx, key, "create", actor, Some(&spec_json))
            .await
    }

    /// Replaces a live flag's spec if it is still at `expected_version`.
    pub async fn update(
        &self,
        key: &FlagKey,
        spec: &FlagSpec,
        expected_version: u64,
        actor: &str,
    ) -> Result<StoredFlag, ConfigError> {
        chatflow_flags::validate(spec)?;
        let spec_json = to_json(spec);
        let mut tx = self.sql.begin().await?;
        let changed = sqlx::query(
            "UPDATE flags SET spec = $1, version = version + 1, updated_at_ms = $2, updated_by = $3 \
             WHERE flag_key = $4 AND version = $5 AND deleted = 0",
        )
        .bind(&spec_json)
        .bind(now_ms())
        .bind(actor)
        .bind(key.as_str())
        .bind(expected_version as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(explain_miss(&mut tx, key, expected_version).await);
        }
        self.finish(tx, key, "update", actor, Some(&spec_json))
            .await
    }

    /// Deletes a live flag if it is still at `expected_version`, leaving a tombstone.
    pub async fn delete(
        &self,
        key: &FlagKey,
        expected_version: u64,
        actor: &str,
    ) -> Result<StoredFlag, ConfigError> {
        let mut tx = self.sql.begin().await?;
        let changed = sqlx::query(
            "UPDATE flags SET version = version + 1, deleted = 1, updated_at_ms = $1, updated_by = $2 \
             WHERE flag_key = $3 AND version = $4 AND deleted = 0",
        )
        .bind(now_ms())
        .bind(actor)
        .bind(key.as_str())
        .bind(expected_version as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(explain_miss(&mut tx, key, expected_version).await);
        }
        self.finish(tx, key, "delete", actor, None).await
    }

    /// A live flag by key.
    pub async fn get(&self, key: &str) -> Result<StoredFlag, ConfigError> {
        // A single read needs no transaction: this is the Evaluate hot path.
        match fetch(self.sql.pool(), key).await? {
            Some(flag) if !flag.deleted => Ok(flag),
            _ => Err(ConfigError::NotFound(key.to_owned())),
        }
    }

    /// Every live flag, by key.
    pub async fn list(&self) -> Result<Vec<StoredFlag>, ConfigError> {
        let rows = sqlx::query(&format!(
            "{SELECT_FLAG} WHERE deleted = 0 ORDER BY flag_key"
        ))
        .fetch_all(self.sql.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// The audit trail of one key, oldest first.
    pub async fn audit(&self, key: &str) -> Result<Vec<AuditEntry>, ConfigError> {
        let rows = sqlx::query(
            "SELECT flag_key, version, action, actor, at_ms, spec FROM flag_audit \
             WHERE flag_key = $1 ORDER BY id",
        )
        .bind(key)
        .fetch_all(self.sql.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let spec: Option<String> = row.try_get("spec")?;
                Ok(AuditEntry {
                    key: row.try_get("flag_key")?,
                    version: row.try_get::<i64, _>("version")? as u64,
                    action: row.try_get("action")?,
                    actor: row.try_get("actor")?,
                    at_ms: row.try_get("at_ms")?,
                    spec: spec.and_then(|s| serde_json::from_str(&s).ok()),
                })
            })
            .collect()
    }

    /// Audits the change, enqueues its event and commits, all or nothing.
    async fn finish(
        &self,
        mut tx: Transaction<'static, Any>,
        key: &FlagKey,
        action: &str,
        actor: &str,
        spec_json: Option<&str>,
    ) -> Result<StoredFlag, ConfigError> {
        let flag = fetch(&mut *tx, key.as_str())
            .await?
            .ok_or_else(|| ConfigError::NotFound(key.to_string()))?;
        sqlx::query(
            "INSERT INTO flag_audit (flag_key, version, action, actor, at_ms, spec) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.as_str())
        .bind(flag.version as i64)
        .bind(action)
        .bind(actor)
        .bind(flag.updated_at_ms)
        .bind(spec_json)
        .execute(&mut *tx)
        .await?;
        let event = pb::FlagChanged {
            flag: Some(chatflow_config_client::flag_to_proto(&flag)),
        };
        self.outbox
            .enqueue(&mut tx, FLAG_CHANGED_TOPIC, key.as_str(), &event)
            .await?;
        tx.commit().await?;
        self.outbox.wake();
        metrics::counter!(crate::metrics::FLAG_CHANGES, "action" => action.to_owned()).increment(1);
        tracing::info!(flag = %key, version = flag.version, action, actor, "flag changed");
        Ok(flag)
    }
}

/// Tells a missing flag from a stale version after a conditional write matched nothing.
async fn explain_miss(
    tx: &mut Transaction<'static, Any>,
    key: &FlagKey,
    expected: u64,
) -> ConfigError {
    match fetch(&mut **tx, key.as_str()).await {
        Ok(Some(flag)) if !flag.deleted => ConfigError::VersionConflict {
            key: key.to_string(),
            expected,
            current: flag.version,
        },
        Ok(_) => ConfigError::NotFound(key.to_string()),
        Err(err) => err,
    }
}

/// Reads one row (tombstones included) inside a transaction or straight from the pool.
async fn fetch<'e, E>(executor: E, key: &str) -> Result<Option<StoredFlag>, ConfigError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!("{SELECT_FLAG} WHERE flag_key = $1"))
        .bind(key)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(decode).transpose()
}

fn decode(row: &chatflow_sql::sqlx::any::AnyRow) -> Result<StoredFlag, ConfigError> {
    let key: String = row.try_get("flag_key")?;
    let corrupt = |reason: String| ConfigError::Corrupt {
        key: key.clone(),
        reason,
    };
    let spec_text: String = row.try_get("spec")?;
    Ok(StoredFlag {
        key: key
            .parse()
            .map_err(|e: chatflow_flags::FlagError| corrupt(e.to_string()))?,
        spec: serde_json::from_str(&spec_text).map_err(|e| corrupt(e.to_string()))?,
        version: row.try_get::<i64, _>("version")? as u64,
        deleted: row.try_get::<i64, _>("deleted")? != 0,
        updated_at_ms: row.try_get("updated_at_ms")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn to_json(spec: &FlagSpec) -> String {
    serde_json::to_string(spec).unwrap_or_default()
}
