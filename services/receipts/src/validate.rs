//! Input checks run before anything is read or written: a request that
//! fails them gets a precise `InvalidArgument` and changes nothing.
//!
//! Conversation ids become part of store keys, so they are held to the
//! router's rule (1 to 128 of `[A-Za-z0-9_-]`); user ids to the groups
//! service's (1 to 64 of the same), which also keeps `#` out of every key.

use crate::{MarkDelivered, MarkRead, ReceiptsError};

/// Most marks in one `MarkDelivered` batch.
pub const MAX_BATCH: usize = 256;
/// Most conversations in one snapshot.
pub const MAX_SNAPSHOT: usize = 1000;
/// Longest conversation id.
pub const MAX_CONVERSATION_ID: usize = 128;
/// Longest device id.
pub const MAX_DEVICE_ID: usize = 128;

fn key_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Shows at most 64 characters of a rejected value.
fn shown(value: &str) -> String {
    value.chars().take(64).collect()
}

/// A conversation id.
pub fn conversation_id(value: &str) -> Result<(), ReceiptsError> {
    if value.is_empty() || value.len() > MAX_CONVERSATION_ID || !key_safe(value) {
        return Err(ReceiptsError::invalid(format!(
            "conversation_id must be 1 to {MAX_CONVERSATION_ID} characters of [A-Za-z0-9_-], got {:?}",
            shown(value)
        )));
    }
    Ok(())
}

/// A user id; `field` names it in the error.
pub fn user_id(field: &str, value: &str) -> Result<(), ReceiptsError> {
    chatflow_groups_client::check_user_id(field, value)
        .map_err(|e| ReceiptsError::InvalidArgument(e.message))
}

/// A device id: at most 128 bytes without control characters; empty only if allowed.
pub fn device_id(value: &str, allow_empty: bool) -> Result<(), ReceiptsError> {
    let bad = (value.is_empty() && !allow_empty)
        || value.len() > MAX_DEVICE_ID
        || value.chars().any(char::is_control);
    if bad {
        return Err(ReceiptsError::invalid(format!(
            "device_id must be {} to {MAX_DEVICE_ID} bytes without control characters",
            if allow_empty { 0 } else { 1 }
        )));
    }
    Ok(())
}

/// A delivery batch: ids, and 1 to [`MAX_BATCH`] marks.
pub fn mark_delivered(request: &MarkDelivered) -> Result<(), ReceiptsError> {
    user_id("user_id", &request.user_id)?;
    device_id(&request.device_id, false)?;
    if request.marks.is_empty() || request.marks.len() > MAX_BATCH {
        return Err(ReceiptsError::invalid(format!(
            "marks must hold 1 to {MAX_BATCH} entries, got {}",
            request.marks.len()
        )));
    }
    for mark in &request.marks {
        conversation_id(&mark.conversation_id)?;
    }
    Ok(())
}

/// A read mark's ids.
pub fn mark_read(request: &MarkRead) -> Result<(), ReceiptsError> {
    user_id("user_id", &request.user_id)?;
    device_id(&request.device_id, true)?;
    conversation_id(&request.conversation_id)
}

/// A snapshot request: the viewer and 1 to [`MAX_SNAPSHOT`] conversations.
pub fn snapshot(viewer_id: &str, conversation_ids: &[String]) -> Result<(), ReceiptsError> {
    user_id("viewer_id", viewer_id)?;
    if conversation_ids.is_empty() || conversation_ids.len() > MAX_SNAPSHOT {
        return Err(ReceiptsError::invalid(format!(
            "conversation_ids must hold 1 to {MAX_SNAPSHOT} entries, got {}",
            conversation_ids.len()
        )));
    }
    conversation_ids
        .iter()
        .try_for_each(|id| conversation_id(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeliveredMark;

    fn batch(n: usize) -> MarkDelivered {
        MarkDelivered {
            user_id: "ann".into(),
            device_id: "phone".into(),
            marks: (0..n)
                .map(|i| DeliveredMark {
                    conversation_id: format!("g_{i}"),
                    seq: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn batches_are_bounded() {
        assert!(mark_delivered(&batch(1)).is_ok());
        assert!(mark_delivered(&batch(MAX_BATCH)).is_ok());
        assert!(mark_delivered(&batch(0)).is_err());
        assert!(mark_delivered(&batch(MAX_BATCH + 1)).is_err());
        let mut no_device = batch(1);
        no_device.device_id.clear();
        assert!(mark_delivered(&no_device).is_err());
    }

    #[test]
    fn ids_are_key_safe() {
        for bad in ["", "a#b", "c/d", "ü", &"x".repeat(129)] {
            assert!(conversation_id(bad).is_err(), "{bad:?}");
        }
        assert!(conversation_id("d_ann_bob").is_ok());
        assert!(user_id("user_id", "a#b").is_err());
        assert!(user_id("user_id", &"u".repeat(65)).is_err());
        assert!(device_id("", true).is_ok());
        assert!(device_id("a\nb", true).is_err());
    }
}
