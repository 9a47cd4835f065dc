//! Input rules shared by the endpoints. Each check returns the value in
//! canonical form or a [`GroupsError::InvalidField`] naming the field,
//! before anything is written.
//!
//! Text is NFC-normalised, trimmed of white space at both ends and measured
//! in characters (Unicode scalar values). It refuses control characters
//! (`Cc`), line and paragraph separators, format characters (`Cf`: bidi
//! overrides, zero-width spaces, tag characters) and noncharacters, except
//! ZERO WIDTH JOINER and NON-JOINER, which emoji sequences and several
//! scripts need. Descriptions may also hold line feeds (`\r\n` becomes `\n`).

use chatflow_runtime::text::{Lines, user_text};

use crate::GroupsError;

/// Longest group name, in characters.
pub const NAME_MAX: usize = 128;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 1024;
/// Longest file id (avatars), in bytes.
pub const FILE_ID_MAX: usize = 128;

/// A group name: 1 to [`NAME_MAX`] characters on one line.
pub fn name(raw: &str) -> Result<String, GroupsError> {
    text("name", raw, Lines::Single, 1, NAME_MAX)
}

/// A description: up to [`DESCRIPTION_MAX`] characters, line feeds allowed.
pub fn description(raw: &str) -> Result<String, GroupsError> {
    text("description", raw, Lines::Multi, 0, DESCRIPTION_MAX)
}

/// NFC-normalises, checks and trims a text field (the fleet's rule,
/// `chatflow_runtime::text`).
fn text(
    field: &str,
    raw: &str,
    lines: Lines,
    min_chars: usize,
    max_chars: usize,
) -> Result<String, GroupsError> {
    user_text(raw, lines, min_chars, max_chars).map_err(|why| GroupsError::field(field, why))
}

/// A file id (the files service's): 1 to [`FILE_ID_MAX`] of `[A-Za-z0-9_-]`;
/// empty means "none".
pub fn file_id(field: &str, raw: &str) -> Result<String, GroupsError> {
    let valid = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if raw.len() > FILE_ID_MAX || !valid {
        return Err(GroupsError::field(
            field,
            format!("must be up to {FILE_ID_MAX} characters of A-Z, a-z, 0-9, '-' and '_'"),
        ));
    }
    Ok(raw.to_owned())
}

/// A user id (see [`chatflow_groups_client::check_user_id`]).
pub fn user_id(field: &str, raw: &str) -> Result<String, GroupsError> {
    chatflow_groups_client::check_user_id(field, raw).map_err(|e| {
        GroupsError::field(
            field,
            e.message
                .trim_start_matches(&format!("{field}: "))
                .to_owned(),
        )
    })?;
    Ok(raw.to_owned())
}

/// A group id (`g_` + 32 hex digits); anything else is "no such group".
pub fn group_id(raw: &str) -> Result<String, GroupsError> {
    match chatflow_groups_client::conversation_kind(raw) {
        Ok(chatflow_groups_client::ConversationKind::Group) => Ok(raw.to_owned()),
        _ => Err(GroupsError::no_conversation()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_nfc_trimmed_and_free_of_invisible_characters() {
        assert_eq!(name("  Cafe\u{301} crew ").unwrap(), "Caf\u{e9} crew");
        assert!(name("   ").is_err());
        for bad in [
            "a\u{0}",
            "a\nb",
            "a\u{202E}b",
            "a\u{200B}",
            "a\u{FFFF}",
            "a\u{2028}",
        ] {
            assert!(name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(name("👩\u{200D}💻 team").is_ok());
        let err = name(&"x".repeat(NAME_MAX + 1)).unwrap_err().to_string();
        assert!(err.starts_with("name: is 129 characters"), "{err}");
    }

    #[test]
    fn descriptions_keep_line_feeds_only() {
        assert_eq!(description("one\r\ntwo\n").unwrap(), "one\ntwo");
        assert_eq!(description("").unwrap(), "");
        assert!(description("tab\there").is_err());
    }

    #[test]
    fn ids_have_strict_formats() {
        assert_eq!(file_id("avatar_file_id", "").unwrap(), "");
        assert!(file_id("avatar_file_id", "f/../x").is_err());
        assert!(user_id("user_ids[0]", "u-1").is_ok());
        let err = user_id("user_ids[2]", "a b").unwrap_err().to_string();
        assert!(err.starts_with("user_ids[2]: must be"), "{err}");
        assert!(group_id("d_0123456789abcdef0123456789abcdef").is_err());
    }
}
