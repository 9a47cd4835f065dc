//! The contract cases: plain async functions on a store, instantiated per backend.

mod limits;
mod races;
mod reads;
mod transact;
mod writes;

pub use limits::*;
pub use races::*;
pub use reads::*;
pub use transact::*;
pub use writes::*;

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_kv::KvError;

/// Asserts an error has the expected shared kind, showing it otherwise.
pub fn assert_kind<T: std::fmt::Debug>(result: Result<T, KvError>, kind: ErrorKind) -> KvError {
    let err = result.expect_err("call should have failed");
    assert_eq!(err.kind(), kind, "{err}");
    err
}

/// Seconds since the epoch, for TTL values.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
