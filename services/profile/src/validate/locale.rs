//! Locales: the common subset of BCP 47 language tags, in canonical case.
//!
//! Accepted: `language[-script][-region][-variant...]`, i.e. a 2–3 letter
//! language (ISO 639; the unused 5–8 letter form is refused), an optional
//! 4-letter script,
//! an optional 2-letter or 3-digit region and variants of 5–8 alphanumerics
//! (or a digit and three alphanumerics). Extensions (`-u-...`) and private
//! use (`x-...`) are refused: profile locales choose a language, not
//! formatting preferences. Case is canonicalised (`pt-br` → `pt-BR`,
//! `zh-hant-tw` → `zh-Hant-TW`); `_` is not a separator.

use crate::ProfileError;

/// Longest accepted tag.
pub const LOCALE_MAX: usize = 35;

/// Checks a language tag and returns it in canonical case.
pub fn locale(field: &str, raw: &str) -> Result<String, ProfileError> {
    let invalid = || {
        ProfileError::field(
            field,
            "must be a BCP 47 language tag such as `en`, `pt-BR` or `zh-Hant-TW`",
        )
    };
    if raw.is_empty() || raw.len() > LOCALE_MAX || !raw.is_ascii() {
        return Err(invalid());
    }
    let mut parts = raw.split('-').peekable();
    let language = parts.next().ok_or_else(invalid)?;
    let letters = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    if !(letters(language) && matches!(language.len(), 2 | 3)) {
        return Err(invalid());
    }
    let mut canonical = language.to_ascii_lowercase();
    if let Some(script) = parts.next_if(|p| p.len() == 4 && letters(p)) {
        canonical.push('-');
        canonical.push_str(&script[..1].to_ascii_uppercase());
        canonical.push_str(&script[1..].to_ascii_lowercase());
    }
    let is_region = |p: &&str| {
        (p.len() == 2 && letters(p)) || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(region) = parts.next_if(is_region) {
        canonical.push('-');
        canonical.push_str(&region.to_ascii_uppercase());
    }
    for variant in parts {
        let alnum = variant.bytes().all(|b| b.is_ascii_alphanumeric());
        let long = (5..=8).contains(&variant.len());
        let short = variant.len() == 4 && variant.as_bytes()[0].is_ascii_digit();
        if !(alnum && (long || short)) {
            return Err(invalid());
        }
        canonical.push('-');
        canonical.push_str(&variant.to_ascii_lowercase());
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_tags_are_accepted_in_canonical_case() {
        for (raw, want) in [
            ("en", "en"),
            ("EN-us", "en-US"),
            ("pt-br", "pt-BR"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("sr-Latn", "sr-Latn"),
            ("es-419", "es-419"),
            ("de-CH-1996", "de-CH-1996"),
            ("sl-rozaj-biske", "sl-rozaj-biske"),
            ("yue", "yue"),
        ] {
            assert_eq!(locale("locale", raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn malformed_tags_are_refused() {
        for raw in [
            "",
            "e",
            "english-language",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "x-private",
            "en-u-ca-gregory",
            "en-US-x",
            "1en",
            "en-ÜS",
            "en-USA1",
        ] {
            let err = locale("locale", raw).err().map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.starts_with("locale: ")),
                "{raw:?} accepted"
            );
        }
    }
}
