//! The auth service end to end over REST, on embedded backends (SQLite,
//! in-process bus and cache) and real ones (PostgreSQL, Kafka, Redis). Each
//! test is written once in [`flows`] or [`security`] and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
mod flows;
mod security;

mod embedded {
    mod flows {
        crate::flow_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod security {
        crate::security_suite!(chatflow_testkit::BackendKind::Embedded);
    }
}

#[cfg(feature = "kafka")]
mod real {
    mod flows {
        crate::flow_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod security {
        crate::security_suite!(chatflow_testkit::BackendKind::Real);
    }
}
