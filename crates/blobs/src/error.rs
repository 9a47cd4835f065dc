//! Errors of the blob port, classified into shared kinds.

use chatflow_errors::{ErrorKind, HasKind};

/// A failure of a blob operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BlobError {
    /// The URL or the options given to `connect` are not acceptable.
    #[error("invalid blob store configuration: {0}")]
    InvalidConfig(String),
    /// A key, metadata entry, range, expiry or limit the caller passed is not acceptable.
    #[error("invalid blob request: {0}")]
    InvalidArgument(String),
    /// No object has this key.
    #[error("blob not found: {0}")]
    NotFound(String),
    /// The backend refused the credentials or the operation.
    #[error("blob access denied: {0}")]
    PermissionDenied(String),
    /// The backend cannot be reached, timed out or failed transiently; retry later.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("blob store error: {0}")]
    Internal(String),
}

impl HasKind for BlobError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidConfig(_) | Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl BlobError {
    /// Classifies a local file-system failure on `what` (a key or a path).
    pub(crate) fn from_io(err: &std::io::Error, what: &str) -> Self {
        use std::io::ErrorKind as K;
        match err.kind() {
            K::NotFound => Self::NotFound(what.to_owned()),
            K::PermissionDenied | K::ReadOnlyFilesystem => {
                Self::PermissionDenied(format!("{what}: {err}"))
            }
            // A full disk, a stale mount or an I/O error: the storage is the failing dependency.
            _ => Self::Unavailable(format!("{what}: {err}")),
        }
    }
}

/// Runs `fut` for at most `limit`; running out of time is `Unavailable`.
pub(crate) async fn bounded<T>(
    limit: std::time::Duration,
    what: &str,
    fut: impl Future<Output = Result<T, BlobError>>,
) -> Result<T, BlobError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(BlobError::Unavailable(format!(
            "{what} timed out after {limit:?}"
        ))),
    }
}
