//! The small, shared set of error kinds.
//!
//! Every crate keeps its own `thiserror` enum, but each variant answers
//! [`HasKind::kind`] so that edges (REST, gRPC, WebSocket) map failures to
//! status codes in exactly one place: [`ErrorKind::http_status`] and
//! [`ErrorKind::grpc_code`].

use serde::Serialize;

/// What went wrong, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is malformed or violates a documented limit.
    InvalidArgument,
    /// The thing asked for does not exist (or the caller may not know it does).
    NotFound,
    /// The thing to create already exists.
    AlreadyExists,
    /// A precondition such as an expected version did not hold.
    Conflict,
    /// The caller is known but not allowed to do this.
    PermissionDenied,
    /// The caller did not prove who they are.
    Unauthenticated,
    /// A quota or rate limit was hit; retry later.
    ResourceExhausted,
    /// A dependency is down or overloaded; retry later.
    Unavailable,
    /// A deadline passed before the work finished.
    DeadlineExceeded,
    /// A bug or an invariant violation on our side.
    Internal,
}

impl ErrorKind {
    /// The HTTP status a REST edge answers for this kind.
    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::InvalidArgument => S::BAD_REQUEST,
            Self::NotFound => S::NOT_FOUND,
            Self::AlreadyExists | Self::Conflict => S::CONFLICT,
            Self::PermissionDenied => S::FORBIDDEN,
            Self::Unauthenticated => S::UNAUTHORIZED,
            Self::ResourceExhausted => S::TOO_MANY_REQUESTS,
            Self::Unavailable => S::SERVICE_UNAVAILABLE,
            Self::DeadlineExceeded => S::GATEWAY_TIMEOUT,
            Self::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gRPC status code a tonic edge answers for this kind.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code as C;
        match self {
            Self::InvalidArgument => C::InvalidArgument,
            Self::NotFound => C::NotFound,
            Self::AlreadyExists => C::AlreadyExists,
            Self::Conflict => C::Aborted,
            Self::PermissionDenied => C::PermissionDenied,
            Self::Unauthenticated => C::Unauthenticated,
            Self::ResourceExhausted => C::ResourceExhausted,
            Self::Unavailable => C::Unavailable,
            Self::DeadlineExceeded => C::DeadlineExceeded,
            Self::Internal => C::Internal,
        }
    }

    /// The kind a gRPC client should report for a status it received.
    pub fn from_grpc_code(code: tonic::Code) -> Self {
        use tonic::Code as C;
        match code {
            C::InvalidArgument | C::OutOfRange => Self::InvalidArgument,
            C::NotFound => Self::NotFound,
            C::AlreadyExists => Self::AlreadyExists,
            C::Aborted | C::FailedPrecondition => Self::Conflict,
            C::PermissionDenied => Self::PermissionDenied,
            C::Unauthenticated => Self::Unauthenticated,
            C::ResourceExhausted => Self::ResourceExhausted,
            C::Unavailable | C::Cancelled => Self::Unavailable,
            C::DeadlineExceeded => Self::DeadlineExceeded,
            _ => Self::Internal,
        }
    }

    /// Whether a caller may retry the same request later and expect success.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            Self::Unavailable | Self::ResourceExhausted | Self::DeadlineExceeded
        )
    }

    /// A stable snake_case name, used in JSON error bodies and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::Conflict => "conflict",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::ResourceExhausted => "resource_exhausted",
            Self::Unavailable => "unavailable",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every crate error so edges can map it without matching.
pub trait HasKind {
    /// The shared kind of this error.
    fn kind(&self) -> ErrorKind;
}

/// Builds a tonic status from any error that knows its kind.
pub fn to_status<E: HasKind + std::fmt::Display>(err: &E) -> tonic::Status {
    tonic::Status::new(err.kind().grpc_code(), err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorKind; 10] = [
        ErrorKind::InvalidArgument,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Conflict,
        ErrorKind::PermissionDenied,
        ErrorKind::Unauthenticated,
        ErrorKind::ResourceExhausted,
        ErrorKind::Unavailable,
        ErrorKind::DeadlineExceeded,
        ErrorKind::Internal,
    ];

    #[test]
    fn grpc_round_trip_keeps_every_kind() {
        for kind in ALL {
            assert_eq!(ErrorKind::from_grpc_code(kind.grpc_code()), kind);
        }
    }

    #[test]
    fn only_transient_kinds_are_retriable() {
        let retriable: Vec<_> = ALL.into_iter().filter(|k| k.is_retriable()).collect();
        assert_eq!(
            retriable,
            [
                ErrorKind::ResourceExhausted,
                ErrorKind::Unavailable,
                ErrorKind::DeadlineExceeded
            ]
        );
    }

    #[test]
    fn client_errors_map_to_4xx_and_server_errors_to_5xx() {
        for kind in ALL {
            let status = kind.http_status();
            let server_side = matches!(
                kind,
                ErrorKind::Unavailable | ErrorKind::DeadlineExceeded | ErrorKind::Internal
            );
            assert_eq!(status.is_server_error(), server_side, "{kind}");
        }
    }
}
