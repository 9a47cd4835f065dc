//! How S3 failures become [`BlobError`]s.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::BlobError;

/// Classifies a failed request on `what` (an operation and key).
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>, what: &str) -> BlobError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = || format!("{what}: {}", DisplayErrorContext(&err));
    match &err {
        // No answer, a timeout or a garbled answer: the server is the problem.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            BlobError::Unavailable(detail())
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            classify_service(service.err().code(), status, what, detail)
        }
        _ => BlobError::Internal(detail()),
    }
}

fn classify_service(
    code: Option<&str>,
    status: u16,
    what: &str,
    detail: impl Fn() -> String,
) -> BlobError {
    match (code, status) {
        (Some("NoSuchBucket" | "NoSuchUpload"), _) => BlobError::Unavailable(detail()),
        (Some("NoSuchKey" | "NotFound"), _) | (None, 404) => BlobError::NotFound(what.to_owned()),
        (
            Some(
                "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "AllAccessDisabled"
                | "ExpiredToken"
                | "InvalidToken",
            ),
            _,
        )
        | (_, 401 | 403) => BlobError::PermissionDenied(detail()),
        (
            Some(
                "SlowDown"
                | "ServiceUnavailable"
                | "InternalError"
                | "RequestTimeout"
                | "RequestTimeTooSkewed",
            ),
            _,
        )
        | (_, 500..=599) => BlobError::Unavailable(detail()),
        (_, 400 | 411 | 413 | 416) => BlobError::InvalidArgument(detail()),
        _ => BlobError::Internal(detail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatflow_errors::{ErrorKind, HasKind};

    fn kind(code: Option<&str>, status: u16) -> ErrorKind {
        classify_service(code, status, "get k", || "detail".to_owned()).kind()
    }

    #[test]
    fn service_errors_map_to_shared_kinds() {
        assert_eq!(kind(Some("NoSuchKey"), 404), ErrorKind::NotFound);
        assert_eq!(kind(None, 404), ErrorKind::NotFound);
        assert_eq!(kind(Some("NoSuchBucket"), 404), ErrorKind::Unavailable);
        assert_eq!(kind(Some("AccessDenied"), 403), ErrorKind::PermissionDenied);
        assert_eq!(
            kind(Some("InvalidAccessKeyId"), 403),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind(Some("SlowDown"), 503), ErrorKind::Unavailable);
        assert_eq!(kind(Some("InvalidRange"), 416), ErrorKind::InvalidArgument);
        assert_eq!(kind(Some("Weird"), 409), ErrorKind::Internal);
    }
}
