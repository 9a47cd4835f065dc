//! The blob port's contract, written once and instantiated per backend by
//! [`contract_suite!`]: single-object semantics ([`crate::objects`]), many
//! and large objects ([`crate::bulk`]) and presigned URLs ([`crate::presigned`]).

use std::collections::BTreeMap;

use bytes::Bytes;
use chatflow_blobs::{BlobStream, PutOptions};

/// Write options with a content type and one metadata entry.
pub fn typed(content_type: &str, owner: &str) -> PutOptions {
    PutOptions {
        content_type: Some(content_type.to_owned()),
        metadata: BTreeMap::from([("owner".to_owned(), owner.to_owned())]),
    }
}

/// `len` bytes of a pattern that catches misplaced or repeated parts.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 65_536) as u8)
        .collect()
}

/// `data` as a stream of uneven chunks.
pub fn chunked(data: Vec<u8>, chunk: usize) -> BlobStream {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

/// The kind of the error `result` must hold.
pub fn kind_of<T>(result: Result<T, chatflow_blobs::BlobError>) -> chatflow_errors::ErrorKind {
    use chatflow_errors::HasKind;
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => err.kind(),
    }
}

/// Instantiates the whole contract for one backend, one module per part, so
/// test names read `s3::bulk::list_paginates_within_a_prefix`.
#[macro_export]
macro_rules! contract_suite {
    ($fixture:path) => {
        mod objects {
            $crate::objects_suite!($fixture);
        }
        mod bulk {
            $crate::bulk_suite!($fixture);
        }
        mod presigned {
            $crate::presigned_suite!($fixture);
        }
    };
}
