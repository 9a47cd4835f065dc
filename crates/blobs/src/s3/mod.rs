//! The production backend: S3 (or any server speaking its protocol) through aws-sdk-s3.
//!
//! Every request is bounded by the op timeout, both in the SDK (connect and
//! operation timeouts, with its standard retries inside) and around the call.
//! Presigned URLs are SigV4 query-string URLs that S3 itself checks.

mod error;
mod multipart;
mod objects;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest as SdkPresigned, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use bytes::Bytes;
use http::Method;

use self::error::classify;
use crate::error::bounded;
use crate::key::{self, DEFAULT_CONTENT_TYPE, KeySpace};
use crate::{BlobError, BlobOptions, PresignedRequest, PutOptions};

/// What a request of the SDK returns.
type SdkResult<T, E> = Result<T, SdkError<E, HttpResponse>>;

/// A blob store in one S3 bucket.
#[derive(Debug)]
pub(crate) struct S3Store {
    client: Client,
    bucket: String,
    keys: KeySpace,
    op_timeout: Duration,
    sse: Option<ServerSideEncryption>,
}

impl S3Store {
    /// Builds a client for `bucket`; makes no request.
    pub(crate) async fn connect(bucket: &str, options: BlobOptions) -> Result<Self, BlobError> {
        validate_bucket(bucket)?;
        let keys = KeySpace::new(options.key_prefix.as_deref())?;
        let s3 = options.s3;
        let sse = match s3.server_side_encryption.as_deref() {
            None => None,
            Some(sse @ ("AES256" | "aws:kms" | "aws:kms:dsse")) => {
                Some(ServerSideEncryption::from(sse))
            }
            Some(other) => {
                return Err(BlobError::InvalidConfig(format!(
                    "server_side_encryption {other:?} must be AES256, aws:kms or aws:kms:dsse"
                )));
            }
        };
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(options.op_timeout)
            .operation_timeout(options.op_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(region) = &s3.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(creds) = &s3.credentials {
            loader = loader.credentials_provider(Credentials::new(
                &creds.access_key_id,
                &creds.secret_access_key,
                creds.session_token.clone(),
                None,
                "chatflow-blobs",
            ));
        }
        let sdk = bounded(options.op_timeout, "load aws config", async {
            Ok(loader.load().await)
        })
        .await?;
        let mut config =
            aws_sdk_s3::config::Builder::from(&sdk).force_path_style(s3.force_path_style);
        if sdk.region().is_none() {
            config = config.region(Region::from_static("us-east-1"));
        }
        if let Some(endpoint) = &s3.endpoint {
            config = config.endpoint_url(endpoint);
        }
        tracing::debug!(bucket, endpoint = ?s3.endpoint, "s3 blob store configured");
        Ok(Self {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            keys,
            op_timeout: options.op_timeout,
            sse,
        })
    }

    /// Sends one request, bounded by the op timeout, classifying its failure.
    async fn send<T, E>(
        &self,
        what: &str,
        request: impl Future<Output = SdkResult<T, E>>,
    ) -> Result<T, BlobError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        bounded(self.op_timeout, what, async {
            request.await.map_err(|err| classify(err, what))
        })
        .await
    }

    /// Builds a presigned request with `request`, bounded by the op timeout
    /// (resolving credentials may take a request).
    async fn presign(
        &self,
        what: &str,
        expires_in: Duration,
        request: impl AsyncFnOnce(PresigningConfig) -> Result<SdkPresigned, BlobError>,
    ) -> Result<PresignedRequest, BlobError> {
        key::validate_expiry(expires_in)?;
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|e| BlobError::InvalidArgument(e.to_string()))?;
        let presigned = bounded(self.op_timeout, what, request(config)).await?;
        Ok(PresignedRequest {
            method: Method::from_bytes(presigned.method().as_bytes())
                .map_err(|e| BlobError::Internal(e.to_string()))?,
            url: presigned.uri().to_owned(),
            headers: presigned
                .headers()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
                .collect(),
            expires_at: SystemTime::now() + expires_in,
        })
    }

    /// Stores `bytes` in one PUT.
    async fn put_object(
        &self,
        key: &str,
        full: &str,
        bytes: Bytes,
        options: PutOptions,
    ) -> Result<(), BlobError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(full)
            .body(ByteStream::from(bytes))
            .content_type(
                options
                    .content_type
                    .as_deref()
                    .unwrap_or(DEFAULT_CONTENT_TYPE),
            )
            .set_metadata(Some(options.metadata.into_iter().collect()))
            .set_server_side_encryption(self.sse.clone())
            .send();
        self.send(&format!("put {key}"), request).await.map(drop)
    }
}

/// Bucket names follow S3's rules: 3..=63 of `[a-z0-9.-]`, nothing after.
fn validate_bucket(bucket: &str) -> Result<(), BlobError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidConfig(format!(
            "s3://{bucket}: the bucket must be 3..=63 of [a-z0-9.-] with no path (use key_prefix)"
        )))
    }
}

fn metadata_of(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The object's total size from `Content-Range: bytes a-b/size`.
fn total_size(content_range: Option<&str>) -> Option<u64> {
    content_range?.rsplit('/').next()?.parse().ok()
}
