//! The platform every ChatFlow service runs on.
//!
//! A [`Platform`] holds what services share in one process: the event bus,
//! a relational store per service (its own PostgreSQL schema or SQLite
//! file), health and readiness, and the shutdown signal. Services plug in
//! through [`ServiceLauncher`]; [`cli::main`] is the whole `main` of both the
//! `chatflow` binary (any set of services) and each thin per-service binary.

pub mod cli;
mod config;
mod error;
mod flags;
mod fleet;
mod handles;
mod launcher;
mod platform;
mod secrets;
mod verifier;

pub use config::{BackendsConfig, PlatformConfig};
pub use error::PlatformError;
pub use flags::ConfigFlags;
pub use fleet::run_fleet;
pub use handles::{Handles, Reach};
pub use launcher::{Endpoint, ServiceLauncher, bind};
pub use platform::Platform;
pub use secrets::{
    INTERNAL_SECRET_FILE, OPERATOR_TOKEN_FILE, SecretSpec, check_operator_token, random_hex,
};
pub use verifier::AuthKeys;
