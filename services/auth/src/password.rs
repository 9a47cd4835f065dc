//! argon2id password hashing on blocking threads, with a bounded number of
//! hashes in flight, upgrade detection and a dummy hash for unknown accounts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::{Argon2Config, AuthError};

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Whether the password matched.
    pub matches: bool,
    /// Whether the stored hash used other parameters and should be replaced.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with the configured argon2id parameters.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified instead of a real hash when the account does not exist.
    dummy: Arc<String>,
    verifications: Arc<AtomicU64>,
}

impl Passwords {
    /// Validates the parameters and precomputes the dummy hash.
    pub async fn new(config: Argon2Config, max_concurrent: usize) -> Result<Self, AuthError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| AuthError::invalid(format!("invalid argon2 parameters: {e}")))?;
        let mut passwords = Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy: Arc::new(String::new()),
            verifications: Arc::new(AtomicU64::new(0)),
        };
        let filler = hex::encode(crate::crypto::random_bytes::<16>());
        passwords.dummy = Arc::new(passwords.hash(filler).await?);
        Ok(passwords)
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        let hasher = self.hasher();
        self.blocking(move || {
            let salt = SaltString::encode_b64(&crate::crypto::random_bytes::<16>())
                .map_err(|e| AuthError::Internal(format!("salt: {e}")))?;
            hasher
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AuthError::Internal(format!("argon2: {e}")))
        })
        .await
    }

    /// Checks `password` against `stored`, or against the dummy hash when
    /// there is no account, so both paths cost one argon2 verification.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Checked, AuthError> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy.as_str().to_owned());
        let hasher = self.hasher();
        let wanted = self.params.clone();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let checked = self
            .blocking(move || {
                let parsed = PasswordHash::new(&phc)
                    .map_err(|e| AuthError::Internal(format!("corrupt password hash: {e}")))?;
                let matches = hasher.verify_password(password.as_bytes(), &parsed).is_ok();
                Ok(Checked {
                    matches,
                    needs_rehash: !same_parameters(&parsed, &wanted),
                })
            })
            .await?;
        Ok(Checked {
            matches: checked.matches && known,
            needs_rehash: checked.needs_rehash && known,
        })
    }

    /// How many verifications ran since start (tests prove both login paths hash).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    fn hasher(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Runs CPU- and memory-heavy work off the async threads, at most N at once.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AuthError::Internal("password hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AuthError::Internal(format!("hashing task failed: {e}")))?
    }
}

/// Whether a stored hash is argon2id v19 with exactly the wanted m, t, p.
fn same_parameters(parsed: &PasswordHash<'_>, wanted: &Params) -> bool {
    if parsed.algorithm != Algorithm::Argon2id.ident() || parsed.version != Some(0x13) {
        return false;
    }
    match Params::try_from(parsed) {
        Ok(p) => {
            p.m_cost() == wanted.m_cost()
                && p.t_cost() == wanted.t_cost()
                && p.p_cost() == wanted.p_cost()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Argon2Config = Argon2Config {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[tokio::test]
    async fn hashes_verify_and_detect_parameter_changes() {
        let passwords = Passwords::new(SMALL, 2).await.unwrap();
        let phc = passwords.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let ok = passwords
            .verify("correct horse".into(), Some(phc.clone()))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Checked {
                matches: true,
                needs_rehash: false
            }
        );
        let wrong = passwords
            .verify("wrong horse".into(), Some(phc.clone()))
            .await
            .unwrap();
        assert!(!wrong.matches);

        let stronger = Passwords::new(
            Argon2Config {
                iterations: 2,
                ..SMALL
            },
            2,
        )
        .await
        .unwrap();
        let upgraded = stronger
            .verify("correct horse".into(), Some(phc))
            .await
            .unwrap();
        assert_eq!(
            upgraded,
            Checked {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn unknown_accounts_still_cost_a_verification() {
        let passwords = Passwords::new(SMALL, 1).await.unwrap();
        let before = passwords.verifications();
        let checked = passwords
            .verify("anything at all".into(), None)
            .await
            .unwrap();
        assert!(!checked.matches);
        assert_eq!(passwords.verifications(), before + 1);
    }
}
