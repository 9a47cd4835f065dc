//! The profile service end to end over REST and the bus, on embedded
//! backends (SQLite, in-process bus and cache) and real ones (PostgreSQL,
//! Kafka, Redis). Each test is written once in [`profile`] or [`social`] and
//! instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
mod grpc;
mod profile;
mod social;

mod embedded {
    mod profile {
        crate::profile_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod social {
        crate::social_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod grpc {
        crate::grpc_suite!(chatflow_testkit::BackendKind::Embedded);
    }
}

#[cfg(feature = "kafka")]
mod real {
    mod profile {
        crate::profile_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod social {
        crate::social_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod grpc {
        crate::grpc_suite!(chatflow_testkit::BackendKind::Real);
    }
}
