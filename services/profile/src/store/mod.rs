//! Persistence in the relational port: profiles and privacy settings,
//! contacts and blocks, the discovery directory, and the outbox their events
//! go through.
//!
//! One [`ProfileStore`] with its queries split by topic; every state change
//! whose event others need is written with the event in one transaction.

mod directory;
mod profiles;
mod relations;

use chatflow_outbox::Outbox;
use chatflow_sql::sqlx::{self, Any, AnyConnection, Transaction};
use chatflow_sql::{Migrations, SqlStore};

pub use directory::DirectoryEntry;
pub use relations::Relations;

use crate::ProfileError;

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A transaction on the profile store.
pub type Tx = Transaction<'static, Any>;

/// The profile service's tables; cheap to clone.
#[derive(Clone, Debug)]
pub struct ProfileStore {
    sql: SqlStore,
    outbox: Outbox,
}

impl ProfileStore {
    /// Runs migrations and opens the outbox.
    pub async fn open(sql: SqlStore) -> Result<Self, ProfileError> {
        sql.migrate(&Migrations {
            postgres: &PG_MIGRATIONS,
            sqlite: &SQLITE_MIGRATIONS,
        })
        .await?;
        let outbox = Outbox::open(sql.clone(), "profile").await?;
        Ok(Self { sql, outbox })
    }

    /// The outbox whose relay publishes this store's events.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Starts a transaction; dropping it without commit rolls back.
    pub async fn begin(&self) -> Result<Tx, ProfileError> {
        Ok(self.sql.begin().await?)
    }

    /// Enqueues an event in `tx`; it is published only if `tx` commits.
    pub async fn enqueue(
        &self,
        tx: &mut Tx,
        topic: &str,
        key: &str,
        event: &impl prost::Message,
    ) -> Result<(), ProfileError> {
        self.outbox.enqueue(tx, topic, key, event).await?;
        Ok(())
    }

    /// Commits `tx` and wakes the relay for the events it carried.
    pub async fn commit(&self, tx: Tx) -> Result<(), ProfileError> {
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// A pooled connection for reads outside a transaction. Never call it
    /// while holding a transaction: SQLite has a single connection.
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>, ProfileError> {
        Ok(self.sql.pool().acquire().await?)
    }
}

/// Lets the queries take either a pooled connection or a transaction.
fn conn_of(tx: &mut Tx) -> &mut AnyConnection {
    tx
}

/// Counts rows matching a query with two text parameters (existence checks).
async fn count2(
    conn: &mut AnyConnection,
    sql: &str,
    a: &str,
    b: &str,
) -> Result<i64, ProfileError> {
    use sqlx::Row;
    let row = sqlx::query(sql).bind(a).bind(b).fetch_one(conn).await?;
    Ok(row.try_get::<i64, _>(0)?)
}
