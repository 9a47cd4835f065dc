//! The gateway over real WebSocket connections (tokio-tungstenite), on the
//! in-process cache and on Redis: handshake and auth, typed errors, send and
//! live delivery, resume without gap or duplicate, slow consumers, token
//! expiry and revocation, and drain. Each test is written once in [`suite`]
//! and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
mod fakes;
mod fanout;
mod lean;
mod live;
mod suite;

mod embedded {
    crate::gateway_suite!(chatflow_testkit::BackendKind::Embedded);
    mod fanout {
        crate::fanout_suite!(chatflow_testkit::BackendKind::Embedded);
    }
    mod live {
        crate::live_suite!(chatflow_testkit::BackendKind::Embedded);
    }
}

#[cfg(feature = "kafka")]
mod real {
    crate::gateway_suite!(chatflow_testkit::BackendKind::Real);
    mod fanout {
        crate::fanout_suite!(chatflow_testkit::BackendKind::Real);
    }
    mod live {
        crate::live_suite!(chatflow_testkit::BackendKind::Real);
    }
}
