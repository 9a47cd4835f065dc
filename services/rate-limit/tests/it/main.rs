//! The rate-limit service end to end: the HTTP and gRPC layer, gRPC `Check`,
//! live policy flags, validation and cache failures, on the in-process cache
//! and on Redis. Each behaviour is written once in [`suite`] and instantiated
//! per backend; the Redis instantiation and the fault tests run with
//! `--features kafka`, the switch every service's real-backend suite uses.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
#[cfg(feature = "kafka")]
mod faults;
mod policies;
mod suite;

mod embedded {
    crate::rate_limit_suite!(chatflow_testkit::BackendKind::Embedded);
}

#[cfg(feature = "kafka")]
mod redis {
    crate::rate_limit_suite!(chatflow_testkit::BackendKind::Real);
}
