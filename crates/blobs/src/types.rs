//! The values blob operations take and return, and the options of `connect`.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::Stream;

/// A body streamed into [`BlobStore::put_stream`](crate::BlobStore::put_stream);
/// an `Err` item aborts the upload and nothing is stored.
pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Settings of a blob store; the defaults suit a laptop.
#[derive(Clone)]
pub struct BlobOptions {
    /// Prepended to every key (and stripped from listed keys): isolates tests
    /// or tenants sharing one bucket or directory.
    pub key_prefix: Option<String>,
    /// Upper bound of every request to the backend, body transfer included
    /// (each part of a multipart upload is one request); exceeding it is
    /// `Unavailable`. Read large objects in ranges to stay within it.
    pub op_timeout: Duration,
    /// `file://` only: where ChatFlow serves [`presigned_router`](crate::presigned_router),
    /// e.g. `http://127.0.0.1:8080`; presigned URLs are `{base}/blobs/{token}?…`.
    pub presign_base_url: Option<String>,
    /// `file://` only: the HMAC-SHA256 key of presigned URLs (at least 16
    /// bytes). `None` draws a random key, so URLs die with the process.
    pub presign_secret: Option<String>,
    /// `s3://` only: endpoint, region, credentials and encryption.
    pub s3: S3Options,
}

impl Default for BlobOptions {
    fn default() -> Self {
        Self {
            key_prefix: None,
            op_timeout: Duration::from_secs(30),
            presign_base_url: None,
            presign_secret: None,
            s3: S3Options::default(),
        }
    }
}

impl std::fmt::Debug for BlobOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobOptions")
            .field("key_prefix", &self.key_prefix)
            .field("op_timeout", &self.op_timeout)
            .field("presign_base_url", &self.presign_base_url)
            .field(
                "presign_secret",
                &self.presign_secret.as_ref().map(|_| "***"),
            )
            .field("s3", &self.s3)
            .finish()
    }
}

/// How to reach S3 (or a server speaking its protocol).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Endpoint override, e.g. `http://127.0.0.1:8014` for a local server.
    pub endpoint: Option<String>,
    /// Region; `None` uses the default chain, then `us-east-1`.
    pub region: Option<String>,
    /// Address buckets as `/bucket/key` instead of `bucket.host/key` (local servers need it).
    pub force_path_style: bool,
    /// Static credentials; `None` uses the default chain (env, profile, ECS task role, IMDS).
    pub credentials: Option<S3Credentials>,
    /// Server-side encryption of written objects: `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub server_side_encryption: Option<String>,
}

/// Static S3 credentials; `Debug` hides the secrets.
#[derive(Clone)]
pub struct S3Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// A session token for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// What is stored with an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// MIME type; `None` stores `application/octet-stream`.
    pub content_type: Option<String>,
    /// User metadata: names `[a-z0-9-]+`, values printable ASCII, 2 KiB in all.
    pub metadata: BTreeMap<String, String>,
}

/// An object (or a byte range of one) read by `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The bytes read: the whole object, or the requested range.
    pub bytes: Bytes,
    /// The MIME type stored with the object.
    pub content_type: String,
    /// The size of the whole object, even when a range was read.
    pub size: u64,
    /// The user metadata stored with the object.
    pub metadata: BTreeMap<String, String>,
}

/// What `head` tells about an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The size in bytes.
    pub size: u64,
    /// The MIME type stored with the object.
    pub content_type: String,
    /// The user metadata stored with the object.
    pub metadata: BTreeMap<String, String>,
}

/// One object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The key, without the store's key prefix.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
}

/// One page of a listing, in ascending key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The objects of this page.
    pub entries: Vec<ListEntry>,
    /// An opaque cursor for the next page; `None` when this page is the last.
    pub next: Option<String>,
}

/// Limits a presigned upload enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresignConstraints {
    /// The `Content-Type` the upload must carry.
    pub content_type: Option<String>,
    /// The exact `Content-Length` the upload must have.
    pub content_length: Option<u64>,
}

/// A URL a client may use without credentials until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// `GET` or `PUT`.
    pub method: http::Method,
    /// The URL to call.
    pub url: String,
    /// Headers the client must send exactly as given (they are signed).
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: SystemTime,
}
