//! The receipts service end to end: marks over REST, gRPC and in process,
//! message and membership events fed through the bus as the router and the
//! groups service publish them, privacy, aggregates, and the events read
//! back from the bus — on embedded backends (SQLite kv, in-process bus and
//! cache) and real ones (DynamoDB Local, Kafka, Redis). Each test is written
//! once in a suite macro and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod app;
mod feeds;
mod launcher;
mod marks;
mod privacy;
mod wire;

/// Every receipts test, for one backend kind.
macro_rules! receipts_suite {
    ($kind:expr) => {
        use std::time::Duration;

        use chatflow_authn::ServiceIdentity;
        use chatflow_errors::{ErrorKind, HasKind};
        use chatflow_message_router::MessageKind;
        use chatflow_proto::groups::v1::membership_changed::Kind;
        use chatflow_proto::receipts::v1::ReceiptsUpdated;
        use chatflow_receipts::{
            DeliveredMark, GrpcReceiptsClient, MAX_BATCH, MAX_SNAPSHOT, MarkDelivered, MarkRead,
            ReceiptsApi, ReceiptsError, Snapshot, UnreadCounts,
        };
        use chatflow_runtime::Secret;
        use reqwest::Method;
        use serde_json::json;

        use $crate::app::*;
        use $crate::wire::*;

        $crate::mark_suite!($kind);
        $crate::privacy_suite!($kind);
        $crate::feed_suite!($kind);
    };
}

mod embedded {
    receipts_suite!(chatflow_testkit::BackendKind::Embedded);
}

#[cfg(feature = "kafka")]
mod real {
    receipts_suite!(chatflow_testkit::BackendKind::Real);
}
