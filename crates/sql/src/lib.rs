//! The relational-store port.
//!
//! Services keep their state in SQL through [`SqlStore`], a thin layer over
//! sqlx's `Any` driver. The backend is chosen by URL: `postgres://…` in
//! production (each service gets its own schema, created on connect) and
//! `sqlite://path/file.db` when embedded (one file per service). Queries use
//! `$1`-style placeholders and the portable subset of SQL both engines share
//! (`BIGINT`, `TEXT`, `BLOB`/`BYTEA` through [`Dialect`]); where the engines
//! differ, a service ships one migration directory per dialect.
//!
//! Every failure is a [`SqlError`] with a shared `ErrorKind`: an unreachable
//! server is `Unavailable` after the acquire timeout, a unique violation is
//! `AlreadyExists`, never a panic or a hang.

mod error;
mod store;

pub use error::SqlError;
pub use store::{Dialect, Migrations, SqlOptions, SqlStore};

/// Re-exported so services write queries without naming sqlx versions.
pub use sqlx;
