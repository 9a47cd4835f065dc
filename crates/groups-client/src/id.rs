//! Conversation and user ids.
//!
//! A direct conversation's id is derived from its two users, so every service
//! computes the same id without asking anyone: `d_` + the first 32 hex digits
//! of SHA-256(min(a, b) + ":" + max(a, b)). A group's id is `g_` + a UUIDv7
//! in simple hex, so ids sort by creation time. User ids are 1 to 64 of
//! `[A-Za-z0-9_-]` (UUIDs, ULIDs, base64url); the `:` separator can therefore
//! never occur inside one, and no two pairs share a preimage.

use chatflow_errors::ErrorKind;
use sha2::{Digest, Sha256};

use crate::{ClientError, ConversationKind};

/// Longest user id, in bytes.
pub const USER_ID_MAX: usize = 64;
/// Length of a conversation id: a two-character prefix and 32 hex digits.
pub const CONVERSATION_ID_LEN: usize = 34;

/// The direct conversation id of users `a` and `b`, the same in either order.
///
/// Errors (`InvalidArgument`) when either id is malformed or `a == b`.
pub fn direct_conversation_id(a: &str, b: &str) -> Result<String, ClientError> {
    check_user_id("user_a", a)?;
    check_user_id("user_b", b)?;
    if a == b {
        return Err(ClientError::new(
            ErrorKind::InvalidArgument,
            "a direct conversation needs two different users",
        ));
    }
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let digest = Sha256::digest(format!("{low}:{high}").as_bytes());
    Ok(format!("d_{}", &hex::encode(digest)[..32]))
}

/// A fresh group id: `g_` + a UUIDv7 in simple (undashed) hex.
pub fn new_group_id() -> String {
    format!("g_{}", uuid::Uuid::now_v7().simple())
}

/// Checks a user id; `field` names it in the error.
pub fn check_user_id(field: &str, id: &str) -> Result<(), ClientError> {
    let valid = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if id.is_empty() || id.len() > USER_ID_MAX || !valid {
        return Err(ClientError::new(
            ErrorKind::InvalidArgument,
            format!("{field}: must be 1 to {USER_ID_MAX} characters of A-Z, a-z, 0-9, '-' and '_'"),
        ));
    }
    Ok(())
}

/// The kind of a well-formed conversation id, else `InvalidArgument`.
pub fn conversation_kind(id: &str) -> Result<ConversationKind, ClientError> {
    let kind = match id.get(..2) {
        Some("d_") => Some(ConversationKind::Direct),
        Some("g_") => Some(ConversationKind::Group),
        _ => None,
    };
    let hex_ok = id.len() == CONVERSATION_ID_LEN
        && id[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match kind {
        Some(kind) if hex_ok => Ok(kind),
        _ => Err(ClientError::new(
            ErrorKind::InvalidArgument,
            "conversation_id: must be `d_` or `g_` followed by 32 lower-case hex digits",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_ids_are_symmetric_and_match_the_documented_digest() {
        let ab = direct_conversation_id("alice", "bob").unwrap();
        assert_eq!(ab, direct_conversation_id("bob", "alice").unwrap());
        let expected = hex::encode(Sha256::digest(b"alice:bob"));
        assert_eq!(ab, format!("d_{}", &expected[..32]));
        assert_eq!(conversation_kind(&ab).unwrap(), ConversationKind::Direct);
        assert_ne!(ab, direct_conversation_id("alice", "carol").unwrap());
    }

    #[test]
    fn a_user_cannot_pair_with_themself_or_a_malformed_id() {
        let err = direct_conversation_id("alice", "alice").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        for bad in ["", "a:b", "ü", &"x".repeat(65)] {
            assert!(direct_conversation_id(bad, "bob").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn group_ids_are_well_formed_and_conversation_ids_are_checked() {
        let id = new_group_id();
        assert_eq!(conversation_kind(&id).unwrap(), ConversationKind::Group);
        for bad in [
            "",
            "g_",
            "x_0123456789abcdef0123456789abcdef",
            "g_0123456789ABCDEF0123456789abcdef",
            "d_0123",
        ] {
            assert!(conversation_kind(bad).is_err(), "{bad:?}");
        }
    }
}
