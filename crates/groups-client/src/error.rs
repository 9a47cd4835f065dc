//! Client errors, carrying the shared kind of the server's answer.

use chatflow_errors::{ErrorKind, HasKind};

/// A failed call to the groups service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("groups service: {kind}: {message}")]
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

/// The status a gRPC edge answers for a client error: the same kind and
/// message, except that internal details are not sent.
impl From<ClientError> for tonic::Status {
    fn from(err: ClientError) -> Self {
        let message = if err.kind == ErrorKind::Internal {
            chatflow_runtime::http_error::INTERNAL_MESSAGE.to_owned()
        } else {
            err.message
        };
        tonic::Status::new(err.kind.grpc_code(), message)
    }
}
