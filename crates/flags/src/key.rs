//! The validated name of a flag.
//!
//! A key is what services write in code (`flags.bool_value("chat.new_composer", …)`),
//! so it is short, lowercase and safe in URLs, metric labels and log fields:
//! `^[a-z][a-z0-9_.-]{0,127}$`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FlagError;

/// Longest key accepted, in bytes (keys are ASCII, so also in characters).
pub const MAX_KEY_LEN: usize = 128;

/// The name of a flag, checked against `^[a-z][a-z0-9_.-]{0,127}$`.
///
/// Serialized as a plain JSON string; deserializing an invalid key fails with
/// the same message [`FromStr`] gives.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^[a-z][a-z0-9_.-]{0,127}$", example = "chat.new_composer")]
pub struct FlagKey(String);

impl FlagKey {
    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the key, returning the owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Says why `key` is not a valid flag key, or `None` when it is.
fn key_problem(key: &str) -> Option<String> {
    let Some(first) = key.chars().next() else {
        return Some("must not be empty".into());
    };
    if !first.is_ascii_lowercase() {
        return Some(format!(
            "must start with a lowercase ascii letter, found {first:?}"
        ));
    }
    if key.len() > MAX_KEY_LEN {
        return Some(format!(
            "must be at most {MAX_KEY_LEN} characters, got {}",
            key.len()
        ));
    }
    key.char_indices()
        .find(|&(_, c)| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
        .map(|(at, c)| format!("invalid character {c:?} at byte {at}; allowed: a-z 0-9 _ . -"))
}

impl TryFrom<String> for FlagKey {
    type Error = FlagError;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        match key_problem(&key) {
            None => Ok(Self(key)),
            Some(reason) => Err(FlagError::InvalidKey { key, reason }),
        }
    }
}

impl FromStr for FlagKey {
    type Err = FlagError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::try_from(key.to_owned())
    }
}

impl From<FlagKey> for String {
    fn from(key: FlagKey) -> Self {
        key.0
    }
}

impl AsRef<str> for FlagKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FlagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(key: &str) -> String {
        match key.parse::<FlagKey>() {
            Err(FlagError::InvalidKey { reason, .. }) => reason,
            other => panic!("expected InvalidKey for {key:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_documented_alphabet() {
        for key in [
            "a",
            "chat.new_composer",
            "x-1_2.3",
            &"k".repeat(MAX_KEY_LEN),
        ] {
            let parsed: FlagKey = key.parse().expect("valid key");
            assert_eq!(parsed.as_str(), key);
        }
    }

    #[test]
    fn rejects_with_a_precise_reason() {
        assert_eq!(reason(""), "must not be empty");
        assert!(reason("1abc").contains("must start with a lowercase"));
        assert!(reason("Chat").contains("must start with a lowercase"));
        assert!(reason(&"k".repeat(MAX_KEY_LEN + 1)).contains("at most 128"));
        assert!(reason("chat/new").contains("'/' at byte 4"));
        assert!(reason("chatÉ").contains("'É' at byte 4"));
    }

    #[test]
    fn json_round_trip_validates() {
        let key: FlagKey = serde_json::from_str("\"a.b\"").expect("valid");
        assert_eq!(serde_json::to_string(&key).expect("serializes"), "\"a.b\"");
        let err = serde_json::from_str::<FlagKey>("\"A\"").expect_err("invalid");
        assert!(err.to_string().contains("invalid flag key"), "{err}");
    }
}
