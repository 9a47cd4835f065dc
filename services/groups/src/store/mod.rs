//! Persistence in the relational port: conversations, members, invites,
//! blocks, and the outbox their events go through.
//!
//! Every change to a conversation starts with [`GroupsStore::lock`], which
//! takes the conversation row's lock (PostgreSQL) for the rest of the
//! transaction, so concurrent changes of one conversation run one after the
//! other: member limits, last-owner rules and version numbers hold under
//! races. SQLite has a single connection and serialises everything anyway.

pub mod blocks;
pub mod conversations;
pub mod invites;
pub mod members;

use chatflow_outbox::Outbox;
use chatflow_proto::groups::v1 as pb;
use chatflow_sql::sqlx::{self, Any, Transaction};
use chatflow_sql::{Migrations, SqlStore};

pub use conversations::ConversationRow;
pub use invites::InviteRow;
pub use members::MemberRow;

use crate::{GroupsError, MEMBERSHIP_CHANGED_TOPIC};

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A transaction on the groups store.
pub type Tx = Transaction<'static, Any>;

/// The groups service's tables; cheap to clone.
#[derive(Clone, Debug)]
pub struct GroupsStore {
    sql: SqlStore,
    outbox: Outbox,
}

impl GroupsStore {
    /// Runs migrations and opens the outbox.
    pub async fn open(sql: SqlStore) -> Result<Self, GroupsError> {
        sql.migrate(&Migrations {
            postgres: &PG_MIGRATIONS,
            sqlite: &SQLITE_MIGRATIONS,
        })
        .await?;
        let outbox = Outbox::open(sql.clone(), "groups").await?;
        Ok(Self { sql, outbox })
    }

    /// The outbox whose relay publishes this store's events.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The pool, for single reads outside a transaction.
    pub fn pool(&self) -> &sqlx::AnyPool {
        self.sql.pool()
    }

    /// Starts a transaction; dropping it without commit rolls back.
    pub async fn begin(&self) -> Result<Tx, GroupsError> {
        Ok(self.sql.begin().await?)
    }

    /// Locks a conversation for the rest of `tx` and reads it; `None` if it
    /// does not exist.
    pub async fn lock(
        &self,
        tx: &mut Tx,
        id: &str,
    ) -> Result<Option<ConversationRow>, GroupsError> {
        // An UPDATE takes the row lock on PostgreSQL even when it changes
        // nothing; the read after it sees every change committed before.
        sqlx::query("UPDATE conversations SET updated_at_ms = updated_at_ms WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        conversations::fetch(&mut **tx, id).await
    }

    /// Enqueues a change event in `tx`, keyed by its conversation.
    pub async fn emit(
        &self,
        tx: &mut Tx,
        event: &pb::MembershipChanged,
    ) -> Result<(), GroupsError> {
        self.outbox
            .enqueue(tx, MEMBERSHIP_CHANGED_TOPIC, &event.conversation_id, event)
            .await?;
        Ok(())
    }

    /// Commits `tx`, wakes the relay and counts the changes it carried.
    pub async fn commit(
        &self,
        tx: Tx,
        kinds: &[pb::membership_changed::Kind],
    ) -> Result<(), GroupsError> {
        tx.commit().await?;
        self.outbox.wake();
        for kind in kinds {
            metrics::counter!(crate::metrics::CHANGES, "kind" => kind.as_str_name()).increment(1);
        }
        Ok(())
    }
}

/// Reads a boolean stored as 0/1.
fn flag(value: i64) -> bool {
    value != 0
}

/// Reads a non-negative count or version stored as BIGINT.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
