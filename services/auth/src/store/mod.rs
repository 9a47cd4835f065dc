//! Persistence in the relational port: accounts, codes, sessions and refresh
//! tokens, MFA, signing keys, and the outbox their events go through.
//!
//! One [`AuthStore`] with its queries split by topic; every state change
//! whose event others need is written with the event in one transaction.

mod accounts;
mod codes;
mod keys;
mod mfa;
mod sessions;

use chatflow_outbox::Outbox;
use chatflow_sql::sqlx::{self, Any, AnyConnection, Transaction};
use chatflow_sql::{Migrations, SqlStore};

pub use accounts::Account;
pub use codes::Purpose;
pub use keys::KeyRow;
pub use sessions::{NewSession, Which};

use crate::AuthError;

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A transaction on the auth store.
pub type Tx = Transaction<'static, Any>;

/// The auth service's tables; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuthStore {
    sql: SqlStore,
    outbox: Outbox,
}

impl AuthStore {
    /// Runs migrations and opens the outbox.
    pub async fn open(sql: SqlStore) -> Result<Self, AuthError> {
        sql.migrate(&Migrations {
            postgres: &PG_MIGRATIONS,
            sqlite: &SQLITE_MIGRATIONS,
        })
        .await?;
        let outbox = Outbox::open(sql.clone(), "auth").await?;
        Ok(Self { sql, outbox })
    }

    /// The outbox whose relay publishes this store's events.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Starts a transaction; dropping it without commit rolls back.
    pub async fn begin(&self) -> Result<Tx, AuthError> {
        Ok(self.sql.begin().await?)
    }

    /// Enqueues an event in `tx`; it is published only if `tx` commits.
    pub async fn enqueue(
        &self,
        tx: &mut Tx,
        topic: &str,
        key: &str,
        event: &impl prost::Message,
    ) -> Result<(), AuthError> {
        self.outbox.enqueue(tx, topic, key, event).await?;
        Ok(())
    }

    /// Commits `tx` and wakes the relay for the events it carried.
    pub async fn commit(&self, tx: Tx) -> Result<(), AuthError> {
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// A pooled connection for reads outside a transaction.
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>, AuthError> {
        Ok(self.sql.pool().acquire().await?)
    }
}

/// Lets the queries take either a pooled connection or a transaction.
fn conn_of(tx: &mut Tx) -> &mut AnyConnection {
    tx
}
