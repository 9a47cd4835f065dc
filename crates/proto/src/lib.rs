//! Generated protobuf types and gRPC services.
//!
//! One module per proto package, mirroring `proto/chatflow/<domain>/v1`.
//! Generated code is excluded from the workspace's doc and style lints.

#![allow(missing_docs, clippy::all, clippy::unwrap_used)]

/// `chatflow.events.v1`: the event envelope.
pub mod events {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.events.v1");
    }
}

/// `chatflow.config.v1`: feature flags.
pub mod config {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.config.v1");
    }
}

/// `chatflow.ratelimit.v1`: shared throttling decisions.
pub mod ratelimit {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.ratelimit.v1");
    }
}

/// `chatflow.auth.v1`: auth events.
pub mod auth {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.auth.v1");
    }
}

/// `chatflow.profile.v1`: profile events and the internal profile API.
pub mod profile {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.profile.v1");
    }
}

/// `chatflow.groups.v1`: conversations, membership and their events.
pub mod groups {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.groups.v1");
    }
}

/// `chatflow.messages.v1`: the message router's API and message events.
pub mod messages {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.messages.v1");
    }
}

pub use prost;
pub use prost_types;

/// `chatflow.gateway.v1`: gateway events.
pub mod gateway {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.gateway.v1");
    }
}

/// `chatflow.receipts.v1`: delivery and read receipts.
pub mod receipts {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.receipts.v1");
    }
}

/// `chatflow.presence.v1`: presence queries.
pub mod presence {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("chatflow.presence.v1");
    }
}
