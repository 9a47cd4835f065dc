//! What callers see of a user's presence ([`PresenceView`]), and the id
//! rules every entry point applies.

use chatflow_presence_crdt::{Status, UserPresence};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::PresenceError;

/// Most users one `get` may ask about.
pub const MAX_USERS_PER_GET: usize = 1000;
/// Longest user id, in bytes: 1 to 64 of `[A-Za-z0-9_-]`, as everywhere.
pub const USER_ID_MAX: usize = 64;
/// Longest device id, in bytes: 1 to 128 printable ASCII characters.
pub const DEVICE_ID_MAX: usize = 128;

/// One user's presence as a viewer may see it.
///
/// JSON: `{"user_id":"u1","status":"online","last_seen_ms":1700000000000}`.
/// A user hidden from the viewer (privacy setting or a block) reads exactly
/// like a user who never connected: `offline` with `last_seen_ms: null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PresenceView {
    /// The user.
    pub user_id: String,
    /// The best status over the user's live devices.
    #[schema(value_type = String, example = "online")]
    pub status: Status,
    /// When the user was last active (Unix ms), if known and visible.
    pub last_seen_ms: Option<i64>,
    /// Devices online or away; filled only for service callers (no viewer),
    /// never serialised when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
}

impl PresenceView {
    /// What a viewer who may not see `user_id` gets.
    pub fn hidden(user_id: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            status: Status::Offline,
            last_seen_ms: None,
            device_ids: Vec::new(),
        }
    }

    /// The view of `presence`, or [`PresenceView::hidden`] when not
    /// `visible`; `known_last_seen` (from the cache, for users no longer in
    /// memory) fills in a last-seen the state has forgotten.
    pub fn seen(
        user_id: &str,
        presence: UserPresence,
        visible: bool,
        known_last_seen: Option<i64>,
    ) -> Self {
        if !visible {
            return Self::hidden(user_id);
        }
        Self {
            user_id: user_id.to_owned(),
            status: presence.status,
            last_seen_ms: presence.last_seen_ms.max(known_last_seen),
            device_ids: Vec::new(),
        }
    }
}

/// Checks a user id: 1 to [`USER_ID_MAX`] of `[A-Za-z0-9_-]`.
pub fn check_user_id(field: &str, id: &str) -> Result<(), PresenceError> {
    if is_user_id(id) {
        Ok(())
    } else {
        Err(PresenceError::field(
            field,
            format!("must be 1 to {USER_ID_MAX} characters of A-Z, a-z, 0-9, '-' and '_'"),
        ))
    }
}

/// Checks a device id: 1 to [`DEVICE_ID_MAX`] printable ASCII characters.
pub fn check_device_id(field: &str, id: &str) -> Result<(), PresenceError> {
    if is_device_id(id) {
        Ok(())
    } else {
        Err(PresenceError::field(
            field,
            format!("must be 1 to {DEVICE_ID_MAX} printable ASCII characters"),
        ))
    }
}

/// Checks a list of user ids and its length; returns it without duplicates,
/// in first-seen order.
pub fn check_user_list(
    field: &str,
    ids: &[String],
    max: usize,
) -> Result<Vec<String>, PresenceError> {
    if ids.len() > max {
        return Err(PresenceError::field(
            field,
            format!("at most {max} users, got {}", ids.len()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut unique = Vec::with_capacity(ids.len());
    for id in ids {
        check_user_id(field, id)?;
        if seen.insert(id.as_str()) {
            unique.push(id.clone());
        }
    }
    Ok(unique)
}

pub(crate) fn is_user_id(id: &str) -> bool {
    (1..=USER_ID_MAX).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

pub(crate) fn is_device_id(id: &str) -> bool {
    (1..=DEVICE_ID_MAX).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_reads_like_never_seen() {
        let never = PresenceView::seen(
            "u1",
            UserPresence {
                status: Status::Offline,
                last_seen_ms: None,
            },
            true,
            None,
        );
        let online = UserPresence {
            status: Status::Online,
            last_seen_ms: Some(5),
        };
        assert_eq!(PresenceView::seen("u1", online, false, Some(9)), never);
        let json = serde_json::to_value(&never).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"user_id": "u1", "status": "offline", "last_seen_ms": null})
        );
        let shown = PresenceView::seen("u1", online, true, Some(9));
        assert_eq!(
            (shown.status, shown.last_seen_ms),
            (Status::Online, Some(9))
        );
    }

    #[test]
    fn ids_follow_the_fleet_rules() {
        assert!(is_user_id("a-B_9") && !is_user_id("") && !is_user_id("a b"));
        assert!(!is_user_id(&"a".repeat(USER_ID_MAX + 1)));
        assert!(is_device_id("phone:1") && !is_device_id("tab\there") && !is_device_id(""));
        let ids = vec!["a".to_owned(), "b".to_owned(), "a".to_owned()];
        assert_eq!(check_user_list("ids", &ids, 3).unwrap(), vec!["a", "b"]);
        assert!(check_user_list("ids", &ids, 2).is_err());
    }
}
