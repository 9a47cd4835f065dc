//! Shared access-token verification for every ChatFlow service.
//!
//! The auth service issues short-lived access tokens (JWT, EdDSA/Ed25519,
//! `kid` in the header, claims in [`claims::AccessClaims`]) and publishes
//! its public keys as a JWKS. Every other service links this crate to check
//! them locally:
//!
//! - [`TokenVerifier`] verifies a token against the cached key set (fetched
//!   by a [`KeySource`]: [`HttpKeySource`] in split mode,
//!   [`InProcessKeySource`] all-in-one), pins the algorithm to EdDSA, checks
//!   `iss`/`aud`/`exp`/`nbf` with leeway and then the revocation list the
//!   auth service keeps in the cache port ([`claims::revoked_session_key`],
//!   [`claims::revoked_before_key`]). It fails closed: if keys or the
//!   revocation list cannot be read, the answer is `Unavailable`, not a pass.
//! - [`Authenticated`] and [`RequireRole`] are the axum extractors;
//!   [`GrpcAuthLayer`] and [`grpc_user`] do the same for tonic services.
//! - [`ServiceIdentity`] signs and checks the `x-chatflow-service`
//!   assertion of internal gRPC calls.

// Tests may unwrap; the library itself is still linted in the normal build.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod claims;
pub mod metrics;

mod config;
mod error;
mod grpc;
mod keys;
mod operator_token;
mod rest;
mod service_identity;
mod user;
mod verifier;

pub use config::VerifierConfig;
pub use error::{AuthnError, MAX_TOKEN_BYTES};
pub use grpc::{GrpcAuth, GrpcAuthLayer, grpc_user};
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use keys::{HttpKeySource, InProcessKeySource, KeySource, KeySourceRef, MAX_JWKS_BYTES};
pub use operator_token::OperatorToken;
pub use rest::{Authenticated, RequireRole};
pub use service_identity::{
    CallingService, MAX_IDENTITY_AGE, MIN_SECRET_BYTES, RequireServiceIdentity,
    SERVICE_IDENTITY_HEADER, ServiceIdentity, ServiceIdentityInterceptor, calling_service,
};
pub use user::{AuthenticatedUser, Operator, Role};
pub use verifier::{TokenVerifier, bearer_token};
