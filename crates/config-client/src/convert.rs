//! Conversions between the flag model and its protobuf form.

use chatflow_errors::ErrorKind;
use chatflow_flags::{FlagKey, FlagSpec, StoredFlag};
use chatflow_proto::config::v1 as pb;

use crate::ClientError;

/// The protobuf form of a stored flag (the spec travels as its JSON).
pub fn flag_to_proto(flag: &StoredFlag) -> pb::Flag {
    pb::Flag {
        key: flag.key.to_string(),
        version: flag.version,
        deleted: flag.deleted,
        spec_json: serde_json::to_string(&flag.spec).unwrap_or_default(),
        updated_at_ms: flag.updated_at_ms,
        updated_by: flag.updated_by.clone(),
    }
}

/// Decodes a protobuf flag; a malformed one is `InvalidArgument`.
pub fn flag_from_proto(flag: pb::Flag) -> Result<StoredFlag, ClientError> {
    let invalid = |e: String| ClientError::new(ErrorKind::InvalidArgument, e);
    let key: FlagKey = flag
        .key
        .parse()
        .map_err(|e: chatflow_flags::FlagError| invalid(e.to_string()))?;
    let spec: FlagSpec = serde_json::from_str(&flag.spec_json)
        .map_err(|e| invalid(format!("flag {key}: spec: {e}")))?;
    Ok(StoredFlag {
        key,
        spec,
        version: flag.version,
        updated_at_ms: flag.updated_at_ms,
        updated_by: flag.updated_by,
        deleted: flag.deleted,
    })
}
