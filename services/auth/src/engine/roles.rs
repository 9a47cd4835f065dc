//! Roles: what an operator grants, copied into every access token.
//!
//! A change takes effect at once: the user's access tokens issued before it
//! are revoked through the cutoff in the revocation list, while sessions and
//! refresh tokens stay valid, so clients refresh and get the new roles.

use crate::AuthError;
use crate::clock::{now_ms, now_secs};
use crate::identity::Identifier;
use crate::store::Account;

use super::Engine;

/// Most roles one account may hold.
pub const MAX_ROLES: usize = 16;
/// Longest role name.
pub const MAX_ROLE_CHARS: usize = 32;
/// The role every account keeps.
pub const BASE_ROLE: &str = "user";

impl Engine {
    /// Replaces the roles of the account named by `account` (its id, email
    /// or phone) with `roles` plus [`BASE_ROLE`]; returns the account id and
    /// the roles now held.
    pub async fn set_roles(
        &self,
        account: &str,
        roles: &[String],
    ) -> Result<(String, Vec<String>), AuthError> {
        let roles = normalise_roles(roles)?;
        let found = self.find_account(account).await?;
        self.store.set_roles(&found.id, &roles, now_ms()).await?;
        // New tokens are minted after the cutoff (see `Subject::min_issued_at`).
        self.revocations.user_before(&found.id, now_secs()).await?;
        tracing::info!(user_id = %found.id, roles = ?roles, "roles changed");
        Ok((found.id, roles))
    }

    async fn find_account(&self, account: &str) -> Result<Account, AuthError> {
        let found = if uuid::Uuid::parse_str(account).is_ok() {
            self.store.account(account).await?
        } else {
            let id = if account.contains('@') {
                Identifier::email(account)?
            } else {
                Identifier::phone(account)?
            };
            self.store.account_by_identifier(&id.value).await?
        };
        found.ok_or_else(|| AuthError::NotFound(format!("no account {account:?}")))
    }
}

/// Sorted, de-duplicated, with [`BASE_ROLE`]; names are `[a-z0-9_-]`, 1–32 chars.
fn normalise_roles(roles: &[String]) -> Result<Vec<String>, AuthError> {
    let mut out: Vec<String> = Vec::with_capacity(roles.len() + 1);
    for role in roles.iter().chain(std::iter::once(&BASE_ROLE.to_owned())) {
        let valid = !role.is_empty()
            && role.len() <= MAX_ROLE_CHARS
            && role
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(AuthError::invalid(format!(
                "role {role:?} must be 1-{MAX_ROLE_CHARS} characters of a-z, 0-9, '_' or '-'"
            )));
        }
        out.push(role.clone());
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_ROLES {
        return Err(AuthError::invalid(format!(
            "at most {MAX_ROLES} roles per account"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_validated_sorted_and_keep_the_base_role() {
        let roles = normalise_roles(&["operator".into(), "operator".into()]).unwrap();
        assert_eq!(roles, vec!["operator".to_owned(), "user".to_owned()]);
        assert_eq!(normalise_roles(&[]).unwrap(), vec!["user".to_owned()]);
        for bad in ["", "Operator", "op erator", "op\u{0}", &"x".repeat(33)] {
            assert!(normalise_roles(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..MAX_ROLES).map(|i| format!("r{i}")).collect();
        assert!(normalise_roles(&many).is_err());
    }
}
