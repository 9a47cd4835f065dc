//! Accounts: identifier, password hash, verification state, roles.

use chatflow_sql::sqlx::{self, AnyConnection, Row};

use super::{AuthStore, Tx, conn_of};
use crate::AuthError;

/// A stored account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Account (user) id, a UUID.
    pub id: String,
    /// Normalised email or E.164 phone.
    pub identifier: String,
    /// `email` or `phone`.
    pub channel: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Whether the identifier was proven with a code.
    pub verified: bool,
    /// Roles copied into access tokens.
    pub roles: Vec<String>,
}

const SELECT: &str = "SELECT id, identifier, channel, password_hash, verified, roles FROM accounts";

impl AuthStore {
    /// The account with this normalised identifier.
    pub async fn account_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<Account>, AuthError> {
        fetch(&mut *self.conn().await?, "identifier", identifier).await
    }

    /// The account with this identifier, read inside `tx`.
    pub async fn account_by_identifier_in(
        &self,
        tx: &mut Tx,
        identifier: &str,
    ) -> Result<Option<Account>, AuthError> {
        fetch(conn_of(tx), "identifier", identifier).await
    }

    /// The account with this id.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, AuthError> {
        fetch(&mut *self.conn().await?, "id", id).await
    }

    /// Creates an unverified account with the default `user` role.
    pub async fn insert_account(
        &self,
        tx: &mut Tx,
        account: &Account,
        now: i64,
    ) -> Result<(), AuthError> {
        sqlx::query(
            "INSERT INTO accounts (id, identifier, channel, password_hash, verified, roles, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $6)",
        )
        .bind(&account.id)
        .bind(&account.identifier)
        .bind(&account.channel)
        .bind(&account.password_hash)
        .bind(account.roles.join(","))
        .bind(now)
        .execute(conn_of(tx))
        .await?;
        Ok(())
    }

    /// Replaces the password hash (new password, or a rehash with new parameters).
    pub async fn set_password_hash(
        &self,
        tx: &mut Tx,
        id: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), AuthError> {
        sqlx::query("UPDATE accounts SET password_hash = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id)
            .execute(conn_of(tx))
            .await?;
        Ok(())
    }

    /// Replaces the hash only if it is still `old`, so a rehash never undoes a password change.
    pub async fn upgrade_password_hash(
        &self,
        id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, AuthError> {
        let done = sqlx::query(
            "UPDATE accounts SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        )
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Replaces the roles copied into the account's future tokens.
    pub async fn set_roles(&self, id: &str, roles: &[String], now: i64) -> Result<(), AuthError> {
        sqlx::query("UPDATE accounts SET roles = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(roles.join(","))
            .bind(now)
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Marks the identifier as proven.
    pub async fn mark_verified(&self, tx: &mut Tx, id: &str, now: i64) -> Result<(), AuthError> {
        sqlx::query("UPDATE accounts SET verified = 1, updated_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(conn_of(tx))
            .await?;
        Ok(())
    }
}

async fn fetch(
    conn: &mut AnyConnection,
    column: &str,
    value: &str,
) -> Result<Option<Account>, AuthError> {
    let row = sqlx::query(&format!("{SELECT} WHERE {column} = $1"))
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        let roles: String = row.try_get("roles")?;
        Ok(Account {
            id: row.try_get("id")?,
            identifier: row.try_get("identifier")?,
            channel: row.try_get("channel")?,
            password_hash: row.try_get("password_hash")?,
            verified: row.try_get::<i64, _>("verified")? != 0,
            roles: roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    })
    .transpose()
}
