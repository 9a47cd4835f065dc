//! [`SqlStore`]: a connection pool on the URL-selected backend.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor};

use crate::SqlError;

/// Which engine a store talks to; the few places SQL differs ask this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL, one schema per service.
    Postgres,
    /// A SQLite file, one file per service.
    Sqlite,
}

impl Dialect {
    /// The backend's name as shown in logs and test output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// The migrations a service ships, one set per dialect (they may be the same).
pub struct Migrations {
    /// Applied on PostgreSQL, inside the service's schema.
    pub postgres: &'static Migrator,
    /// Applied on SQLite.
    pub sqlite: &'static Migrator,
}

/// Connection settings with laptop-friendly defaults.
#[derive(Debug, Clone)]
pub struct SqlOptions {
    /// The PostgreSQL schema that holds this service's tables (ignored by SQLite).
    pub schema: String,
    /// Pool size on PostgreSQL. SQLite always uses one connection, which
    /// serialises writers and so never returns `SQLITE_BUSY`.
    pub max_connections: u32,
    /// How long a query waits for a connection before `Unavailable`.
    pub acquire_timeout: Duration,
}

impl SqlOptions {
    /// Options for the given schema with default pool settings.
    pub fn for_schema(schema: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A pool on PostgreSQL or SQLite; cheap to clone.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl SqlStore {
    /// Connects to `postgres://…` or `sqlite://path`, creating the schema or
    /// the file when missing.
    pub async fn connect(url: &str, options: SqlOptions) -> Result<Self, SqlError> {
        sqlx::any::install_default_drivers();
        let dialect = dialect_of(url)?;
        let pool = match dialect {
            Dialect::Postgres => connect_postgres(url, &options).await?,
            Dialect::Sqlite => connect_sqlite(url, &options).await?,
        };
        tracing::debug!(backend = dialect.name(), schema = %options.schema, "relational store connected");
        Ok(Self { pool, dialect })
    }

    /// The pool, for queries and transactions.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies the dialect's pending migrations; safe to run from several processes.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), SqlError> {
        let migrator = match self.dialect {
            Dialect::Postgres => migrations.postgres,
            Dialect::Sqlite => migrations.sqlite,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Starts a transaction; dropping it without commit rolls back.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, Any>, SqlError> {
        Ok(self.pool.begin().await?)
    }

    /// Checks the server answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), SqlError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn dialect_of(url: &str) -> Result<Dialect, SqlError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Dialect::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Dialect::Sqlite)
    } else {
        Err(SqlError::InvalidConfig(format!(
            "unsupported relational store url scheme in {:?}; expected postgres:// or sqlite://",
            redact(url)
        )))
    }
}

/// Schema names become SQL identifiers, so only a safe alphabet is accepted.
fn validate_schema(schema: &str) -> Result<(), SqlError> {
    let mut chars = schema.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(SqlError::InvalidConfig(format!(
            "schema {schema:?} must match [a-z_][a-z0-9_]{{0,62}}"
        )))
    }
}

async fn connect_postgres(url: &str, options: &SqlOptions) -> Result<AnyPool, SqlError> {
    validate_schema(&options.schema)?;
    let connect_options: AnyConnectOptions = url.parse()?;
    let connect_options = connect_options.disable_statement_logging();
    // Create the schema once with a dedicated connection, bounded in time so an
    // unreachable server is reported as Unavailable instead of hanging.
    let create = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", options.schema);
    let mut conn = tokio::time::timeout(options.acquire_timeout, connect_options.connect())
        .await
        .map_err(|_| SqlError::Unavailable(format!("connect timed out to {}", redact(url))))??;
    match conn.execute(create.as_str()).await.map_err(SqlError::from) {
        // Two processes creating the schema concurrently race on pg_namespace.
        Ok(_) | Err(SqlError::AlreadyExists(_)) => {}
        Err(other) => return Err(other),
    }
    conn.close().await?;

    let search_path = format!("SET search_path TO \"{}\"", options.schema);
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let search_path = search_path.clone();
            Box::pin(async move {
                conn.execute(search_path.as_str()).await?;
                Ok(())
            })
        })
        .connect_lazy_with(connect_options);
    Ok(pool)
}

async fn connect_sqlite(url: &str, options: &SqlOptions) -> Result<AnyPool, SqlError> {
    let path_part = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    let in_memory = path_part.is_empty() || path_part == ":memory:";
    if !in_memory
        && let Some(parent) = Path::new(path_part)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            SqlError::Unavailable(format!("cannot create directory {}: {e}", parent.display()))
        })?;
    }
    // `mode=rwc` creates the file when missing.
    let url = if url.contains('?') || in_memory {
        url.to_owned()
    } else {
        format!("{url}?mode=rwc")
    };
    let connect_options: AnyConnectOptions = url.parse()?;
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(options.acquire_timeout)
        // An in-memory database lives as long as its connection: keep it.
        .idle_timeout(None)
        .max_lifetime(None)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                Ok(())
            })
        })
        .connect_with(connect_options.disable_statement_logging())
        .await?;
    Ok(pool)
}

/// Removes a password from a URL before it reaches a log or an error.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_restricted_to_identifiers() {
        assert!(validate_schema("config").is_ok());
        assert!(validate_schema("t_0a1b").is_ok());
        for bad in ["", "Config", "1abc", "a-b", "a\"; drop", &"x".repeat(64)] {
            assert!(validate_schema(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn unknown_schemes_are_rejected() {
        let err = dialect_of("mysql://h/db").unwrap_err();
        assert!(matches!(err, SqlError::InvalidConfig(_)));
    }
}
