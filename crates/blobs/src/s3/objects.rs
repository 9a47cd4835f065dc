//! The object operations of [`S3Store`], each one bounded request.

use std::ops::Range;
use std::time::Duration;

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use bytes::Bytes;

use super::{S3Store, classify, metadata_of, multipart, total_size};
use crate::error::bounded;
use crate::key::{self, DEFAULT_CONTENT_TYPE, is_unreserved, percent_encode};
use crate::{
    BlobError, BlobStore, BlobStream, ListEntry, ListPage, Object, ObjectMeta, PresignConstraints,
    PresignedRequest, PutOptions,
};

#[async_trait::async_trait]
impl BlobStore for S3Store {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn ensure_bucket(&self) -> Result<(), BlobError> {
        match self.ping().await {
            Ok(()) => return Ok(()),
            Err(BlobError::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
        let mut request = self.client.create_bucket().bucket(&self.bucket);
        let region = self.client.config().region().map(|r| r.as_ref().to_owned());
        if let Some(region) = region.filter(|r| r != "us-east-1") {
            let constraint = BucketLocationConstraint::from(region.as_str());
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(constraint)
                    .build(),
            );
        }
        let what = format!("create bucket {}", self.bucket);
        match self.send(&what, request.send()).await {
            Ok(_) => Ok(()),
            // Lost a race with another creator: fine if we can reach it now.
            Err(err) => self.ping().await.map_err(|_| err),
        }
    }

    async fn ping(&self) -> Result<(), BlobError> {
        let what = format!("head bucket {}", self.bucket);
        let request = self.client.head_bucket().bucket(&self.bucket).send();
        self.send(&what, request).await.map(drop)
    }

    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<(), BlobError> {
        let full = self.keys.full(key)?;
        key::validate_put(&options)?;
        if bytes.len() > multipart::PART_SIZE {
            let body = Box::pin(futures::stream::iter([Ok(bytes)]));
            return multipart::upload(self, key, &full, body, options)
                .await
                .map(drop);
        }
        self.put_object(key, &full, bytes, options).await
    }

    async fn put_stream(
        &self,
        key: &str,
        body: BlobStream,
        options: PutOptions,
    ) -> Result<u64, BlobError> {
        let full = self.keys.full(key)?;
        key::validate_put(&options)?;
        multipart::upload(self, key, &full, body, options).await
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Object, BlobError> {
        let full = self.keys.full(key)?;
        if let Some(range) = &range {
            key::validate_range(range)?;
        }
        let header = range.map(|r| format!("bytes={}-{}", r.start, r.end - 1));
        let what = format!("get {key}");
        bounded(self.op_timeout, &what, async {
            let request = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&full)
                .set_range(header);
            let output = request.send().await.map_err(|err| classify(err, &what))?;
            let size = total_size(output.content_range())
                .or(output.content_length().and_then(|n| u64::try_from(n).ok()))
                .unwrap_or_default();
            let metadata = metadata_of(output.metadata());
            let content_type = output
                .content_type()
                .unwrap_or(DEFAULT_CONTENT_TYPE)
                .to_owned();
            let body = output.body.collect().await.map_err(|e| {
                BlobError::Unavailable(format!("{what}: reading the body failed: {e}"))
            })?;
            Ok(Object {
                bytes: body.into_bytes(),
                content_type,
                size,
                metadata,
            })
        })
        .await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        let full = self.keys.full(key)?;
        let request = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send();
        match self.send(&format!("head {key}"), request).await {
            Ok(output) => Ok(Some(ObjectMeta {
                size: output
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or_default(),
                content_type: output
                    .content_type()
                    .unwrap_or(DEFAULT_CONTENT_TYPE)
                    .to_owned(),
                metadata: metadata_of(output.metadata()),
            })),
            Err(BlobError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, BlobError> {
        let full_prefix = self.keys.full_prefix(prefix)?;
        key::validate_limit(limit)?;
        let request = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(full_prefix)
            .max_keys(i32::try_from(limit).unwrap_or(1000))
            .set_continuation_token(cursor.map(str::to_owned))
            .send();
        let output = self.send(&format!("list {prefix}"), request).await?;
        let entries = output
            .contents()
            .iter()
            .filter_map(|object| {
                Some(ListEntry {
                    key: self.keys.strip(object.key()?)?.to_owned(),
                    size: object
                        .size()
                        .and_then(|n| u64::try_from(n).ok())
                        .unwrap_or_default(),
                })
            })
            .collect();
        let next = if output.is_truncated().unwrap_or(false) {
            output.next_continuation_token().map(str::to_owned)
        } else {
            None
        };
        Ok(ListPage { entries, next })
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let full = self.keys.full(key)?;
        let request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send();
        match self.send(&format!("delete {key}"), request).await {
            Ok(_) | Err(BlobError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        let (source, target) = (self.keys.full(from)?, self.keys.full(to)?);
        if source == target {
            return self
                .head(from)
                .await?
                .map(drop)
                .ok_or_else(|| BlobError::NotFound(from.to_owned()));
        }
        let source = percent_encode(&format!("{}/{source}", self.bucket), |_, b| {
            is_unreserved(b) || b == b'/'
        });
        let request = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(&target)
            .copy_source(source)
            .set_server_side_encryption(self.sse.clone())
            .send();
        match self.send(&format!("copy {from} to {to}"), request).await {
            Ok(_) => Ok(()),
            Err(BlobError::NotFound(_)) => Err(BlobError::NotFound(from.to_owned())),
            Err(err) => Err(err),
        }
    }

    async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let full = self.keys.full(key)?;
        let what = format!("presign get {key}");
        self.presign(&what, expires_in, async |config| {
            let request = self.client.get_object().bucket(&self.bucket).key(&full);
            request
                .presigned(config)
                .await
                .map_err(|e| classify(e, &what))
        })
        .await
    }

    async fn presign_put(
        &self,
        key: &str,
        expires_in: Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest, BlobError> {
        let full = self.keys.full(key)?;
        key::validate_constraints(&constraints)?;
        let length = constraints
            .content_length
            .map(i64::try_from)
            .transpose()
            .map_err(|_| BlobError::InvalidArgument("content length too large".into()))?;
        let what = format!("presign put {key}");
        self.presign(&what, expires_in, async |config| {
            let request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&full)
                .set_content_type(constraints.content_type.clone())
                .set_content_length(length)
                .set_server_side_encryption(self.sse.clone());
            request
                .presigned(config)
                .await
                .map_err(|e| classify(e, &what))
        })
        .await
    }
}
