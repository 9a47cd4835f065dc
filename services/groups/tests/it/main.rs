//! The groups service end to end: REST, gRPC with service identity, block
//! events, published changes and the invalidated cache, on embedded backends
//! (SQLite + in-process bus) and real ones (PostgreSQL + Kafka). Each test is
//! written once in a suite macro and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod access;
mod app;
mod invites;
mod lifecycle;

mod embedded {
    mod lifecycle {
        crate::lifecycle_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod invites {
        crate::invite_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod access {
        crate::access_suite!(chatflow_testkit::BackendKind::Embedded);
    }
}

#[cfg(feature = "kafka")]
mod real {
    mod lifecycle {
        crate::lifecycle_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod invites {
        crate::invite_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod access {
        crate::access_suite!(chatflow_testkit::BackendKind::Real);
    }
}
