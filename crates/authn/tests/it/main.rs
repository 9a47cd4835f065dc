//! Integration tests of the token verifier, its axum and tonic glue, and
//! service identity. Keys are generated per test; the revocation list lives
//! in the cache port's `memory://` backend.

#![allow(clippy::unwrap_used)]

mod grpc;
mod keys;
mod rest;
mod service_identity;
mod support;
mod verify;
