//! The HTTP endpoint that serves the presigned URLs of a `file://` store.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chatflow_errors::HasKind;
use futures::StreamExt;

use crate::presign::{Authorized, Rejection};
use crate::{BlobError, BlobStoreRef, PutOptions};

/// Serves `GET` (with single `Range: bytes=a-b` support) and `PUT` on
/// `/blobs/{token}` for URLs from the store's `presign_*` calls; mount it
/// where [`BlobOptions::presign_base_url`](crate::BlobOptions::presign_base_url)
/// points. Forged, expired or misused URLs get 403, broken constraints 400,
/// each with a one-line plain-text reason. For a store that serves its own
/// URLs (S3) every request gets 404.
pub fn presigned_router(store: BlobStoreRef) -> Router {
    Router::new()
        .route("/blobs/{token}", get(download).put(upload))
        .with_state(store)
}

async fn download(
    State(store): State<BlobStoreRef>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let call = match authorize(&store, &Method::GET, &token, &query) {
        Ok(call) => call,
        Err(rejection) => return rejection.into_response(),
    };
    let range = match headers.get(header::RANGE).map(parse_range) {
        None => None,
        Some(Some(range)) => Some(range),
        Some(None) => return text(StatusCode::RANGE_NOT_SATISFIABLE, "unsupported range"),
    };
    let object = match store.get(&call.key, range.clone()).await {
        Ok(object) => object,
        Err(BlobError::InvalidArgument(message)) if range.is_some() => {
            return text(StatusCode::RANGE_NOT_SATISFIABLE, &message);
        }
        Err(err) => return error_response(&err),
    };
    let mut response = Response::builder().header(header::CONTENT_TYPE, &object.content_type);
    if let Some(range) = range {
        let last = range.start + object.bytes.len() as u64 - 1;
        let content_range = format!("bytes {}-{last}/{}", range.start, object.size);
        response = response
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, content_range);
    }
    response
        .body(Body::from(object.bytes))
        .unwrap_or_else(|err| text(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()))
}

async fn upload(
    State(store): State<BlobStoreRef>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let call = match authorize(&store, &Method::PUT, &token, &query) {
        Ok(call) => call,
        Err(rejection) => return rejection.into_response(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if let Some(expected) = &call.constraints.content_type
        && content_type != Some(expected.as_str())
    {
        return text(
            StatusCode::BAD_REQUEST,
            &format!("this url requires content-type {expected}"),
        );
    }
    let declared: Option<u64> = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    if let Some(expected) = call.constraints.content_length
        && declared != Some(expected)
    {
        return text(
            StatusCode::BAD_REQUEST,
            &format!("this url requires content-length {expected}"),
        );
    }
    let limit = call
        .constraints
        .content_length
        .unwrap_or(crate::key::MAX_SINGLE_PUT);
    if declared.is_some_and(|n| n > limit) {
        return text(
            StatusCode::BAD_REQUEST,
            &format!("upload exceeds {limit} bytes"),
        );
    }
    let mut received = 0u64;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        received += chunk.len() as u64;
        if received > limit {
            return Err(std::io::Error::other(format!(
                "upload exceeds {limit} bytes"
            )));
        }
        Ok(chunk)
    });
    let options = PutOptions {
        content_type: content_type.map(str::to_owned),
        ..PutOptions::default()
    };
    match store.put_stream(&call.key, Box::pin(stream), options).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => error_response(&err),
    }
}

fn authorize(
    store: &BlobStoreRef,
    method: &Method,
    token: &str,
    query: &HashMap<String, String>,
) -> Result<Authorized, Rejection> {
    let Some(signer) = store.url_signer() else {
        return Err(Rejection {
            status: StatusCode::NOT_FOUND,
            message: "this store's presigned urls are served by the object store".into(),
        });
    };
    signer.verify(method, token, query)
}

/// Parses `bytes=a-b` or `bytes=a-` into an end-exclusive range.
fn parse_range(value: &header::HeaderValue) -> Option<std::ops::Range<u64>> {
    let spec = value.to_str().ok()?.strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => u64::MAX,
        last => last.parse::<u64>().ok()?.checked_add(1)?,
    };
    (start < end).then_some(start..end)
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        tracing::debug!(status = %self.status, reason = %self.message, "presigned request rejected");
        text(self.status, &self.message)
    }
}

fn error_response(err: &BlobError) -> Response {
    text(err.kind().http_status(), &err.to_string())
}

fn text(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_end_exclusive() {
        let parse = |s: &'static str| parse_range(&header::HeaderValue::from_static(s));
        assert_eq!(parse("bytes=2-5"), Some(2..6));
        assert_eq!(parse("bytes=7-"), Some(7..u64::MAX));
        assert_eq!(parse("bytes=-5"), None);
        assert_eq!(parse("bytes=5-2"), None);
        assert_eq!(parse("items=1-2"), None);
    }
}
