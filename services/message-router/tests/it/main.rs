//! The message router end to end: REST, gRPC and in-process writes and
//! reads, two instances racing on one store, events read back from the bus,
//! and a failing membership dependency — on embedded backends (SQLite kv,
//! in-process bus and cache) and real ones (DynamoDB Local, Kafka, Redis).
//! Each test is written once in a suite macro and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
mod events;
mod faults;
mod launcher;
mod reads;
mod writes;

/// Every router test, for one backend kind.
macro_rules! router_suite {
    ($kind:expr) => {
        $crate::write_suite!($kind);
        $crate::read_suite!($kind);
        $crate::event_suite!($kind);
        $crate::fault_suite!($kind);
    };
}

mod embedded {
    router_suite!(chatflow_testkit::BackendKind::Embedded);
}

#[cfg(feature = "kafka")]
mod real {
    router_suite!(chatflow_testkit::BackendKind::Real);
}
