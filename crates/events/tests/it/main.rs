//! Integration tests of `chatflow-events`, in one binary: the contract suite
//! on every backend, then backend-specific cases.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod contract;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "kafka")]
mod sqlite;
mod support;
mod trace;
