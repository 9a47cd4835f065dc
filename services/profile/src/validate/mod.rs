//! Input rules shared by the endpoints. Each check either returns the value
//! in canonical form or an [`ProfileError::InvalidField`] naming the field,
//! before anything is written.
//!
//! Text fields are NFC-normalised, trimmed of Unicode white space at both
//! ends and measured in characters (Unicode scalar values) after that. They
//! refuse control characters (`Cc`), line and paragraph separators, format
//! characters (`Cf`: bidi overrides and isolates, zero-width spaces, soft
//! hyphens, tag characters) and noncharacters. Two format characters stay
//! allowed because real text needs them: ZERO WIDTH JOINER (emoji sequences)
//! and ZERO WIDTH NON-JOINER (Persian, Indic scripts). Multi-line fields
//! also allow line feeds (`\r\n` becomes `\n`).

mod locale;
mod zone;

pub use chatflow_runtime::text::Lines;
use chatflow_runtime::text::user_text;
pub use locale::locale;
pub use zone::time_zone;

use crate::ProfileError;

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 64;
/// Longest about text, in characters.
pub const ABOUT_MAX: usize = 280;
/// Longest user or file id, in bytes (ids are ASCII).
pub const ID_MAX: usize = 64;
/// Length of a discovery hash: 32 bytes as hex.
pub const HASH_HEX_LEN: usize = 64;

/// NFC-normalises, checks and trims a text field (the fleet's rule,
/// `chatflow_runtime::text`); `min_chars` 0 allows empty.
pub fn text(
    field: &str,
    raw: &str,
    lines: Lines,
    min_chars: usize,
    max_chars: usize,
) -> Result<String, ProfileError> {
    user_text(raw, lines, min_chars, max_chars).map_err(|why| ProfileError::field(field, why))
}

/// A user or file id: 1 to [`ID_MAX`] of `[A-Za-z0-9_-]` (UUIDs, ULIDs, base64url).
pub fn id(field: &str, raw: &str) -> Result<String, ProfileError> {
    let valid = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if raw.is_empty() || raw.len() > ID_MAX || !valid {
        return Err(ProfileError::field(
            field,
            format!("must be 1 to {ID_MAX} characters of A-Z, a-z, 0-9, '-' and '_'"),
        ));
    }
    Ok(raw.to_owned())
}

/// A discovery hash: [`HASH_HEX_LEN`] hex digits, returned lower-case.
pub fn hash(field: &str, raw: &str) -> Result<String, ProfileError> {
    if raw.len() != HASH_HEX_LEN || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ProfileError::field(
            field,
            format!("must be {HASH_HEX_LEN} hex digits (HMAC-SHA256 of a normalised identifier)"),
        ));
    }
    Ok(raw.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> Result<String, String> {
        text("display_name", raw, Lines::Single, 1, 8).map_err(|e| e.to_string())
    }

    #[test]
    fn text_is_nfc_normalised_trimmed_and_counted_in_characters() {
        // "e" + COMBINING ACUTE ACCENT becomes one "é".
        assert_eq!(name("  Rene\u{301}\u{3000}").unwrap(), "Ren\u{e9}");
        assert_eq!(name("日本語の名前です").unwrap(), "日本語の名前です");
        let err = name("日本語の名前ですよ").unwrap_err();
        assert_eq!(
            err,
            "display_name: is 9 characters long; at most 8 are allowed"
        );
        assert_eq!(
            name(" \u{3000} ").unwrap_err(),
            "display_name: must not be empty"
        );
    }

    #[test]
    fn control_and_format_characters_are_refused_with_their_position() {
        let err = name("ab\u{202E}cd").unwrap_err();
        assert!(err.starts_with("display_name: contains"), "{err}");
        assert!(err.contains("U+202E at character 2"), "{err}");
        for bad in [
            "a\u{0}",
            "a\nb",
            "a\u{200B}",
            "a\u{2066}b",
            "a\u{FEFF}",
            "a\u{E0041}",
            "a\u{FFFF}",
            "a\u{FDD0}",
            "a\u{2028}",
        ] {
            assert!(name(bad).is_err(), "{bad:?} accepted");
        }
        // Emoji ZWJ sequences and Persian ZWNJ are real text.
        assert!(name("👩\u{200D}💻").is_ok());
        assert!(name("می\u{200C}خواهم").is_ok());
    }

    #[test]
    fn multi_line_text_keeps_line_feeds_only() {
        let about = |raw| text("about", raw, Lines::Multi, 0, 20);
        assert_eq!(about("one\r\ntwo\n").unwrap(), "one\ntwo");
        assert_eq!(about("").unwrap(), "");
        assert!(about("tab\there").is_err());
        assert!(about("cr\ronly").is_err());
    }

    #[test]
    fn ids_and_hashes_have_strict_formats() {
        assert!(id("user_id", "0190b3c4-5f6e-7a8b-9c0d-1e2f3a4b5c6d").is_ok());
        for bad in ["", "a b", "ünï", "a/b", &"x".repeat(65)] {
            assert!(id("user_id", bad).is_err(), "{bad:?} accepted");
        }
        let upper = "AB".repeat(32);
        assert_eq!(hash("hashes[0]", &upper).unwrap(), "ab".repeat(32));
        let err = hash("hashes[3]", "abc").unwrap_err().to_string();
        assert!(err.starts_with("hashes[3]: must be 64 hex digits"), "{err}");
        assert!(hash("h", &"g".repeat(64)).is_err());
    }
}
