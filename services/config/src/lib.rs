//! The `config` service: dynamic feature flags and settings.
//!
//! Operators manage flags through a REST admin API (`/v1/flags`, bearer
//! token, optimistic concurrency by version, OpenAPI at `/v1/openapi.json`).
//! Services evaluate them through gRPC `Evaluate`, or locally from a cache
//! kept current by the server-streaming `Watch` (see `chatflow-config-client`).
//! Definitions live in the relational port; every change is audited and
//! published as `chatflow.config.flag_changed` through the outbox.

mod auth;
mod error;
mod feed;
mod grpc;
mod launcher;
mod metrics;
mod rest;
mod service;
mod settings;
mod store;

pub use error::ConfigError;
pub use launcher::ConfigLauncher;
pub use service::{ConfigService, Deps, Listeners};
pub use settings::Config;
pub use store::{AuditEntry, FlagStore};

/// The topic every flag change is published on.
pub const FLAG_CHANGED_TOPIC: &str = "chatflow.config.flag_changed";
