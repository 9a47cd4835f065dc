//! The presence replicas and service end to end, on the in-process cache
//! and bus (embedded) and on Redis and Kafka (real). Each test is written
//! once in a suite module and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod events;
mod hostile;
mod nodes;
mod service;
mod support;
mod watches;

mod embedded {
    mod nodes {
        crate::nodes_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod watches {
        crate::watches_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod hostile {
        crate::hostile_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod service {
        crate::service_suite!(chatflow_testkit::BackendKind::Embedded);
    }
}

#[cfg(feature = "kafka")]
mod real {
    mod nodes {
        crate::nodes_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod watches {
        crate::watches_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod hostile {
        crate::hostile_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod service {
        crate::service_suite!(chatflow_testkit::BackendKind::Real);
    }
}
