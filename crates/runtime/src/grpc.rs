//! Mapping errors to and from `tonic::Status`, the gRPC twin of
//! [`crate::http_error`]: one kind decides the code on both edges.

use std::fmt;

use chatflow_errors::{ErrorKind, HasKind};
use tonic::Status;

use crate::http_error::{ApiError, INTERNAL_MESSAGE};

/// A status for any crate error; like [`ApiError::from_error`], `Internal`
/// errors are logged and their cause is not sent to the caller.
pub fn to_status<E: HasKind + fmt::Display + ?Sized>(err: &E) -> Status {
    let ApiError { kind, message } = ApiError::from_error(err);
    Status::new(kind.grpc_code(), message)
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        Status::new(err.kind.grpc_code(), err.message)
    }
}

impl ApiError {
    /// What a REST edge answers when a gRPC call it made failed: the same
    /// kind, and the status message unless the callee hit an internal error.
    pub fn from_status(status: &Status) -> Self {
        match ErrorKind::from_grpc_code(status.code()) {
            ErrorKind::Internal => Self::new(ErrorKind::Internal, INTERNAL_MESSAGE),
            kind => Self::new(kind, status.message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Missing;

    impl HasKind for Missing {
        fn kind(&self) -> ErrorKind {
            ErrorKind::NotFound
        }
    }

    impl fmt::Display for Missing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("conversation not found")
        }
    }

    #[test]
    fn kinds_map_to_codes_both_ways() {
        let status = to_status(&Missing);
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.message(), "conversation not found");
        let back = ApiError::from_status(&status);
        assert_eq!(
            back,
            ApiError::new(ErrorKind::NotFound, "conversation not found")
        );
        let status = Status::from(ApiError::invalid_argument("empty text"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn internal_details_do_not_cross_the_edge() {
        let status = Status::internal("stack trace: ...");
        assert_eq!(ApiError::from_status(&status).message, INTERNAL_MESSAGE);
    }
}
