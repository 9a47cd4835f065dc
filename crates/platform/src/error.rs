//! Start-up failures of the platform.

use chatflow_errors::{ErrorKind, HasKind};

/// Why the platform or a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The configuration is inconsistent (e.g. an embedded backend in production).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A backend could not be reached.
    #[error("backend {backend} unavailable: {reason}")]
    Backend {
        /// Which backend (`event bus`, `relational store`).
        backend: &'static str,
        /// What failed.
        reason: String,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        reason: String,
    },
    /// A service failed while starting.
    #[error("service {service} failed to start: {reason}")]
    Service {
        /// The service name.
        service: &'static str,
        /// Its error.
        reason: String,
    },
}

impl HasKind for PlatformError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::InvalidArgument,
            Self::Backend { .. } => ErrorKind::Unavailable,
            Self::Bind { .. } | Self::Service { .. } => ErrorKind::Internal,
        }
    }
}

impl PlatformError {
    /// A service-start failure from any displayable error.
    pub fn service(service: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Service {
            service,
            reason: err.to_string(),
        }
    }
}
