//! Streamed uploads: one PUT for bodies up to [`PART_SIZE`], S3 multipart
//! uploads in [`PART_SIZE`] parts above it.
//!
//! Up to [`CONCURRENCY`] parts are in flight while the next one is read from
//! the body, so memory stays under `(CONCURRENCY + 1) * PART_SIZE`. Each part
//! request is bounded by the op timeout. On any failure, and when the caller
//! drops the upload midway, the multipart upload is aborted so S3 keeps no
//! orphaned parts.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::task::JoinSet;

use super::{S3Store, classify};
use crate::error::bounded;
use crate::key::DEFAULT_CONTENT_TYPE;
use crate::{BlobError, BlobStream, PutOptions};

/// The size of every part but the last (S3 requires at least 5 MiB).
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once.
const CONCURRENCY: usize = 4;
/// S3's limit, so the largest streamed object is 80,000 MiB.
const MAX_PARTS: i32 = 10_000;

/// One multipart upload in progress.
struct Target {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    op_timeout: Duration,
    what: String,
}

/// Uploads `body` to `full` (the backend key of `key`) and returns its size.
pub(crate) async fn upload(
    store: &S3Store,
    key: &str,
    full: &str,
    mut body: BlobStream,
    options: PutOptions,
) -> Result<u64, BlobError> {
    let mut buffer = BytesMut::new();
    if fill(&mut body, &mut buffer, PART_SIZE + 1, key).await? {
        let size = buffer.len() as u64;
        store
            .put_object(key, full, buffer.freeze(), options)
            .await?;
        return Ok(size);
    }
    let what = format!("multipart put {key}");
    let request = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(full)
        .content_type(
            options
                .content_type
                .as_deref()
                .unwrap_or(DEFAULT_CONTENT_TYPE),
        )
        .set_metadata(Some(options.metadata.into_iter().collect()))
        .set_server_side_encryption(store.sse.clone())
        .send();
    let created = store.send(&what, request).await?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| BlobError::Internal(format!("{what}: no upload id in the answer")))?;
    let target = Arc::new(Target {
        client: store.client.clone(),
        bucket: store.bucket.clone(),
        key: full.to_owned(),
        upload_id: upload_id.to_owned(),
        op_timeout: store.op_timeout,
        what,
    });
    let mut guard = AbortOnDrop(Some(target.clone()));
    let result = match upload_parts(&target, buffer, body, key).await {
        Ok((parts, size)) => complete(&target, parts).await.map(|()| size),
        Err(err) => Err(err),
    };
    match result {
        Ok(size) => {
            guard.0 = None;
            Ok(size)
        }
        Err(err) => {
            guard.0 = None;
            abort(&target).await;
            Err(err)
        }
    }
}

/// Reads from `body` until `buffer` holds `want` bytes; `true` when the body ended.
async fn fill(
    body: &mut BlobStream,
    buffer: &mut BytesMut,
    want: usize,
    key: &str,
) -> Result<bool, BlobError> {
    while buffer.len() < want {
        match body.next().await {
            Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
            Some(Err(err)) => {
                return Err(BlobError::InvalidArgument(format!(
                    "upload of {key} failed: {err}"
                )));
            }
            None => return Ok(true),
        }
    }
    Ok(false)
}

async fn upload_parts(
    target: &Arc<Target>,
    mut buffer: BytesMut,
    mut body: BlobStream,
    key: &str,
) -> Result<(Vec<CompletedPart>, u64), BlobError> {
    let mut in_flight = JoinSet::new();
    let mut done = Vec::new();
    let (mut number, mut size, mut ended) = (0i32, 0u64, false);
    loop {
        while buffer.len() >= PART_SIZE || (ended && !buffer.is_empty()) {
            let part = buffer.split_to(PART_SIZE.min(buffer.len())).freeze();
            number += 1;
            size += part.len() as u64;
            if number > MAX_PARTS {
                return Err(BlobError::InvalidArgument(format!(
                    "{key} is larger than {MAX_PARTS} parts of {PART_SIZE} bytes"
                )));
            }
            in_flight.spawn(upload_part(target.clone(), number, part));
            while in_flight.len() >= CONCURRENCY {
                done.push(joined(in_flight.join_next().await)?);
            }
        }
        if ended {
            break;
        }
        ended = fill(&mut body, &mut buffer, PART_SIZE, key).await?;
    }
    while let Some(result) = in_flight.join_next().await {
        done.push(joined(Some(result))?);
    }
    done.sort_by_key(|part| part.part_number());
    Ok((done, size))
}

fn joined(
    result: Option<Result<Result<CompletedPart, BlobError>, tokio::task::JoinError>>,
) -> Result<CompletedPart, BlobError> {
    match result {
        Some(Ok(part)) => part,
        Some(Err(err)) => Err(BlobError::Internal(format!(
            "part upload task failed: {err}"
        ))),
        None => Err(BlobError::Internal("no part upload in flight".into())),
    }
}

async fn upload_part(
    target: Arc<Target>,
    number: i32,
    part: Bytes,
) -> Result<CompletedPart, BlobError> {
    let what = format!("{} (part {number})", target.what);
    let output = bounded(target.op_timeout, &what, async {
        target
            .client
            .upload_part()
            .bucket(&target.bucket)
            .key(&target.key)
            .upload_id(&target.upload_id)
            .part_number(number)
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(|err| classify(err, &what))
    })
    .await?;
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(output.e_tag().map(str::to_owned))
        .build())
}

async fn complete(target: &Target, parts: Vec<CompletedPart>) -> Result<(), BlobError> {
    let what = format!("{} (complete)", target.what);
    bounded(target.op_timeout, &what, async {
        target
            .client
            .complete_multipart_upload()
            .bucket(&target.bucket)
            .key(&target.key)
            .upload_id(&target.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|err| classify(err, &what))
    })
    .await
}

/// Aborts the upload; a failure is only logged (S3 lifecycle rules can reap it).
async fn abort(target: &Target) {
    let what = format!("{} (abort)", target.what);
    let result = bounded(target.op_timeout, &what, async {
        target
            .client
            .abort_multipart_upload()
            .bucket(&target.bucket)
            .key(&target.key)
            .upload_id(&target.upload_id)
            .send()
            .await
            .map(drop)
            .map_err(|err| classify(err, &what))
    })
    .await;
    if let Err(err) = result {
        tracing::warn!(key = %target.key, error = %err, "multipart upload not aborted");
    }
}

/// Aborts the upload in the background if the caller drops it midway.
struct AbortOnDrop(Option<Arc<Target>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(target) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move { abort(&target).await });
        }
    }
}
