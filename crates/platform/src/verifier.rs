//! Token verifiers for services that check access tokens.
//!
//! A service's `auth` section is a [`VerifierConfig`]: with `jwks_url` set
//! the keys are fetched over HTTP (split mode); without it they come from
//! the auth service in this process through [`crate::Handles`] — the fleet
//! refuses to start if no auth service published its keys.

use std::sync::Arc;

use async_trait::async_trait;
use chatflow_authn::{
    AuthnError, HttpKeySource, JwkSet, KeySource, KeySourceRef, TokenVerifier, VerifierConfig,
};

use crate::{Handles, Platform, PlatformError};

/// The in-process auth key source as published by the auth service.
#[derive(Clone)]
pub struct AuthKeys(pub KeySourceRef);

impl Platform {
    /// A verifier for `service`, sharing this process's cache for revocations.
    pub fn token_verifier(
        &self,
        service: &str,
        config: &VerifierConfig,
    ) -> Result<TokenVerifier, PlatformError> {
        let keys: KeySourceRef = match &config.jwks_url {
            Some(url) => Arc::new(
                HttpKeySource::new(url.clone(), config.fetch_timeout)
                    .map_err(|e| PlatformError::Config(format!("services.{service}.auth: {e}")))?,
            ),
            None => {
                self.handles()
                    .expect::<AuthKeys>(format!("services.{service}.auth.jwks_url"));
                Arc::new(InProcessAuthKeys {
                    handles: self.handles().clone(),
                })
            }
        };
        TokenVerifier::new(config.clone(), keys, self.cache().clone())
            .map_err(|e| PlatformError::Config(format!("services.{service}.auth: {e}")))
    }
}

/// Reads the auth service's keys from the handle registry at fetch time.
struct InProcessAuthKeys {
    handles: Handles,
}

#[async_trait]
impl KeySource for InProcessAuthKeys {
    async fn fetch(&self) -> Result<JwkSet, AuthnError> {
        match self.handles.get::<AuthKeys>() {
            Some(AuthKeys(source)) => source.fetch().await,
            None => Err(AuthnError::KeysUnavailable(
                "no auth service in this process and no jwks_url configured".into(),
            )),
        }
    }
}
