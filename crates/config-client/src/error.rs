//! Client errors, carrying the shared kind of the server's answer.

use chatflow_errors::{ErrorKind, HasKind};

/// A failed call to the config service.
#[derive(Debug, Clone, thiserror::Error)]
#[error("config service: {kind}: {message}")]
pub struct ClientError {
    /// What kind of failure, as the server classified it.
    pub kind: ErrorKind,
    /// Human-readable detail.
    pub message: String,
}

impl ClientError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl HasKind for ClientError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::new(ErrorKind::from_grpc_code(status.code()), status.message())
    }
}
