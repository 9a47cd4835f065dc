//! The one rule for text people type into ChatFlow (names, about texts,
//! descriptions): NFC-normalised, trimmed of Unicode white space at both
//! ends and measured in characters (Unicode scalar values) after that.
//!
//! It refuses control characters (`Cc`), line and paragraph separators,
//! format characters (`Cf`: bidi overrides and isolates, zero-width spaces,
//! soft hyphens, tag characters) and noncharacters. Two format characters
//! stay allowed because real text needs them: ZERO WIDTH JOINER (emoji
//! sequences) and ZERO WIDTH NON-JOINER (Persian, Indic scripts).
//! Multi-line fields also allow line feeds (`\r\n` becomes `\n`).

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// Which line structure a text field allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line (names).
    Single,
    /// Line feeds allowed (about texts, descriptions).
    Multi,
}

/// Characters no text field accepts (see the module docs).
static FORBIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    forbidden_regex(r"[[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\x{FDD0}-\x{FDEF}]--[\x{200C}\x{200D}]]")
});
/// The same, with line feeds allowed.
static FORBIDDEN_MULTI: LazyLock<Regex> = LazyLock::new(|| {
    forbidden_regex(r"[[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\x{FDD0}-\x{FDEF}]--[\n\x{200C}\x{200D}]]")
});

fn forbidden_regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("constant pattern: {e}"))
}

/// The canonical form of `raw`, or why it is refused (a message to prefix
/// with the field name); `min_chars` 0 allows empty.
pub fn user_text(
    raw: &str,
    lines: Lines,
    min_chars: usize,
    max_chars: usize,
) -> Result<String, String> {
    // Refuse absurd input before normalising it. Generous: decomposed input
    // (Hangul jamo, combining marks) shrinks a lot under NFC.
    if raw.len() > max_chars * 16 + 64 {
        return Err(format!("is longer than {max_chars} characters"));
    }
    let raw = match lines {
        Lines::Multi => raw.replace("\r\n", "\n"),
        Lines::Single => raw.to_owned(),
    };
    let normalised: String = raw.nfc().collect();
    let forbidden = match lines {
        Lines::Single => &*FORBIDDEN,
        Lines::Multi => &*FORBIDDEN_MULTI,
    };
    if let Some(found) = forbidden.find(&normalised) {
        let position = normalised[..found.start()].chars().count();
        let code = found.as_str().chars().next().map_or(0, u32::from);
        return Err(format!(
            "contains a control or invisible formatting character (U+{code:04X} at character {position})"
        ));
    }
    // U+FFFE and U+FFFF of every plane (U+FDD0..U+FDEF are in the regex).
    if let Some(c) = normalised
        .chars()
        .find(|c| u32::from(*c) & 0xFFFE == 0xFFFE)
    {
        return Err(format!("contains the noncharacter U+{:04X}", u32::from(c)));
    }
    let trimmed = normalised.trim();
    let count = trimmed.chars().count();
    if count < min_chars {
        return Err("must not be empty".into());
    }
    if count > max_chars {
        return Err(format!(
            "is {count} characters long; at most {max_chars} are allowed"
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_normalised_trimmed_and_bounded() {
        assert_eq!(
            user_text("  Rene\u{301} ", Lines::Single, 1, 8).unwrap(),
            "Ren\u{e9}"
        );
        assert_eq!(user_text("a\r\nb", Lines::Multi, 0, 8).unwrap(), "a\nb");
        assert!(user_text("a\nb", Lines::Single, 0, 8).is_err());
        assert!(user_text("evil\u{202E}txt", Lines::Single, 0, 16).is_err());
        assert!(user_text("x\u{FFFF}", Lines::Single, 0, 8).is_err());
        assert!(user_text("   ", Lines::Single, 1, 8).is_err());
        assert!(user_text("123456789", Lines::Single, 1, 8).is_err());
        assert_eq!(
            user_text("👩\u{200D}💻", Lines::Single, 1, 8).unwrap(),
            "👩\u{200D}💻"
        );
    }
}
