//! The service itself: build it from its deps, run it on the caller's listener.

use std::time::Duration;

use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use chatflow_outbox::RelayOptions;
use chatflow_sql::SqlStore;
use jsonwebtoken::jwk::JwkSet;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::secs_to_ms;
use crate::engine::{Engine, Parts};
use crate::keys::KeyRing;
use crate::password::Passwords;
use crate::rest::{self, OperatorToken};
use crate::revocation::Revocations;
use crate::store::AuthStore;
use crate::throttle::Throttle;
use crate::tokens::Tokens;
use crate::{AuthError, Config};

/// What the service needs from the platform.
pub struct Deps {
    /// Its relational store (own schema or file).
    pub sql: SqlStore,
    /// The event bus the outbox relays to.
    pub bus: EventBusRef,
    /// Revocation list, throttles and MFA tickets.
    pub cache: CacheRef,
}

/// The sockets the caller bound for it.
pub struct Listeners {
    /// REST API and JWKS.
    pub http: TcpListener,
}

/// The published signing keys, in process: what the shared verifier
/// (`chatflow-authn`) reads in all-in-one mode instead of fetching
/// `/.well-known/jwks.json`. Cheap to clone.
#[derive(Clone)]
pub struct JwksSource {
    keys: KeyRing,
}

impl JwksSource {
    /// The current JWKS, exactly as served over HTTP.
    pub async fn jwks(&self) -> JwkSet {
        self.keys.jwks().await
    }

    /// The JWKS from memory, for `chatflow_authn::InProcessKeySource::new(move || src.jwks_now())`.
    pub fn jwks_now(&self) -> JwkSet {
        self.keys.jwks_now()
    }
}

#[async_trait::async_trait]
impl chatflow_authn::KeySource for JwksSource {
    async fn fetch(&self) -> Result<JwkSet, chatflow_authn::AuthnError> {
        Ok(self.jwks().await)
    }
}

/// A built auth service, ready to run.
pub struct AuthService {
    engine: Engine,
    bus: EventBusRef,
    admin: Option<OperatorToken>,
}

impl AuthService {
    /// Migrates its store, loads (or creates) signing keys and prepares the engine.
    pub async fn build(config: Config, deps: Deps) -> Result<Self, AuthError> {
        crate::metrics::describe();
        let store = AuthStore::open(deps.sql).await?;
        let keep_ms = secs_to_ms(config.access_token_ttl_secs + config.clock_leeway_secs);
        let keys = KeyRing::open(
            store.clone(),
            secs_to_ms(config.key_publish_ahead_secs),
            keep_ms,
        )
        .await?;
        let tokens = Tokens::new(
            keys,
            config.issuer.clone(),
            config.audience.clone(),
            config.access_token_ttl_secs,
            config.clock_leeway_secs,
        );
        let passwords = Passwords::new(config.argon2, config.max_concurrent_hashes).await?;
        let admin = config
            .admin_token
            .as_ref()
            .map(|t| OperatorToken::new(t.expose()));
        let engine = Engine::new(Parts {
            revocations: Revocations::new(deps.cache.clone(), config.revocation_ttl()),
            throttle: Throttle::new(deps.cache.clone(), &config.throttle)?,
            cache: deps.cache,
            config,
            store,
            tokens,
            passwords,
        });
        Ok(Self {
            engine,
            bus: deps.bus,
            admin,
        })
    }

    /// The in-process key source for the shared verifier.
    pub fn jwks_source(&self) -> JwksSource {
        JwksSource {
            keys: self.engine.keys().clone(),
        }
    }

    /// argon2 verifications run so far; tests use it to prove that unknown
    /// accounts cost the same work as wrong passwords.
    pub fn password_verifications(&self) -> PasswordCounter {
        PasswordCounter(self.engine.passwords.clone())
    }

    /// Serves REST and relays the outbox until `shutdown`, then drains and returns.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> Result<(), AuthError> {
        let Self { engine, bus, admin } = self;
        let relay = {
            let (outbox, shutdown) = (engine.store.outbox().clone(), shutdown.clone());
            let options = RelayOptions {
                idle_poll: Duration::from_millis(500),
                ..RelayOptions::default()
            };
            tokio::spawn(async move { outbox.run_relay(bus, options, shutdown).await })
        };
        let refresher = {
            let (keys, shutdown) = (engine.keys().clone(), shutdown.clone());
            tokio::spawn(async move { keys.keep_fresh(shutdown).await })
        };
        let router = rest::router(engine, admin);
        if let Err(err) =
            chatflow_runtime::serve::serve_http(listeners.http, router, shutdown).await
        {
            tracing::error!(error = %err, "auth REST server failed");
        }
        let _ = refresher.await;
        if let Err(err) = relay.await {
            tracing::warn!(error = %err, "auth outbox relay task failed");
        }
        Ok(())
    }
}

/// Reads the count of argon2 verifications (see [`AuthService::password_verifications`]).
#[derive(Clone)]
pub struct PasswordCounter(Passwords);

impl PasswordCounter {
    /// Verifications so far.
    pub fn get(&self) -> u64 {
        self.0.verifications()
    }
}
