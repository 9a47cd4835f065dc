//! The blob port: objects by key, on S3 in production and in a local
//! directory when embedded.
//!
//! Services hold a [`BlobStoreRef`] from [`connect`], which picks the backend
//! by URL: `s3://bucket` (aws-sdk-s3, any S3-compatible endpoint) or
//! `file:///abs/dir` / `file://rel/dir` (a directory, durable across
//! restarts). Both answer every operation alike: keys are checked by the same
//! rules before any backend is called (1..=1024 bytes, no control characters,
//! no leading `/`, no empty, `.` or `..` segments), a missing key is
//! `NotFound`, and every request is bounded by [`BlobOptions::op_timeout`]
//! (running out is `Unavailable`).
//!
//! Presigned URLs let clients upload and download without credentials. On S3
//! they are SigV4 URLs served by S3 itself; for `file://` ChatFlow signs them
//! with HMAC-SHA256 and serves them through [`presigned_router`].

mod error;
mod key;
mod local;
mod presign;
mod router;
mod s3;
mod types;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use error::BlobError;
pub use presign::UrlSigner;
pub use router::presigned_router;
pub use types::{
    BlobOptions, BlobStream, ListEntry, ListPage, Object, ObjectMeta, PresignConstraints,
    PresignedRequest, PutOptions, S3Credentials, S3Options,
};

/// A shared handle on a blob store; what services hold.
pub type BlobStoreRef = Arc<dyn BlobStore>;

/// Objects by key; every implementation passes the same contract suite.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// The backend's name, `"file"` or `"s3"`, for logs and tests.
    fn backend(&self) -> &'static str;

    /// Creates the bucket (or directory) when missing; safe to call concurrently.
    async fn ensure_bucket(&self) -> Result<(), BlobError>;

    /// Checks the bucket (or directory) is reachable, for `/readyz`.
    async fn ping(&self) -> Result<(), BlobError>;

    /// Stores `bytes` under `key`, replacing any object there atomically:
    /// readers see the old object or the new one, never a mix.
    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<(), BlobError>;

    /// Stores a streamed body under `key` without holding it in memory and
    /// returns its size; on S3, bodies above 8 MiB go up in 8 MiB multipart
    /// parts. Any failure (an `Err` from `body` is `InvalidArgument`) stores
    /// nothing. Each write to the backend is bounded; waiting on `body` is not.
    async fn put_stream(
        &self,
        key: &str,
        body: BlobStream,
        options: PutOptions,
    ) -> Result<u64, BlobError>;

    /// Reads an object, or the bytes `range` of it (the end is clamped to the
    /// size; a range starting at or past the end is `InvalidArgument`).
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Object, BlobError>;

    /// Size, content type and metadata of an object; `None` when missing.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError>;

    /// Up to `limit` (1..=1000) keys starting with `prefix`, in byte order,
    /// after the opaque `cursor` returned by the previous page.
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, BlobError>;

    /// Removes an object; removing a missing one succeeds.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Copies an object with its content type and metadata; `NotFound` when
    /// `from` is missing. Copying an object onto itself changes nothing.
    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError>;

    /// A URL that downloads `key` until `expires_in` (1 s..=7 days) passes.
    async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError>;

    /// A URL that uploads `key` once or more until `expires_in` passes, only
    /// with the content type and length in `constraints` when they are set.
    async fn presign_put(
        &self,
        key: &str,
        expires_in: Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest, BlobError>;

    /// The signer of URLs that ChatFlow serves itself (`file://`); `None`
    /// when the backend serves its own URLs (S3).
    fn url_signer(&self) -> Option<&UrlSigner> {
        None
    }
}

/// Opens the store at `url`: `s3://bucket` or `file://dir`.
///
/// Nothing is created on S3 (see [`BlobStore::ensure_bucket`]) and no request
/// is made, so connecting works while S3 is unreachable; a `file://`
/// directory is created when missing.
pub async fn connect(url: &str, options: BlobOptions) -> Result<BlobStoreRef, BlobError> {
    if options.op_timeout.is_zero() {
        return Err(BlobError::InvalidConfig(
            "op_timeout must not be zero".into(),
        ));
    }
    if let Some(bucket) = url.strip_prefix("s3://") {
        Ok(Arc::new(s3::S3Store::connect(bucket, options).await?))
    } else if let Some(dir) = url.strip_prefix("file://") {
        Ok(Arc::new(local::LocalStore::open(dir, options).await?))
    } else {
        Err(BlobError::InvalidConfig(format!(
            "unsupported blob store url {url:?}; expected s3://bucket or file://dir"
        )))
    }
}
