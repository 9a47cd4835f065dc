//! The config service end to end: REST, gRPC `Evaluate` and `Watch`, events,
//! on embedded backends (SQLite + in-process bus) and real ones (PostgreSQL +
//! Kafka). Each test is written once in [`suite`] and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
mod suite;

mod embedded {
    crate::config_suite!(chatflow_testkit::BackendKind::Embedded);
}

#[cfg(feature = "kafka")]
mod real {
    crate::config_suite!(chatflow_testkit::BackendKind::Real);
}
