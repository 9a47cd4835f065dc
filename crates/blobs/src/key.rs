//! Rules that keys, prefixes, metadata, ranges and expiries obey on every
//! backend, checked before any backend is called so both answer alike.

use std::ops::Range;
use std::time::Duration;

use crate::{BlobError, PresignConstraints, PutOptions};

/// The longest key accepted, prefix included (S3's limit).
pub(crate) const MAX_KEY_BYTES: usize = 1024;
/// The most user metadata (names plus values) an object carries (S3's limit).
const MAX_METADATA_BYTES: usize = 2048;
/// The longest-lived presigned URL (S3's limit for SigV4).
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// The largest page `list` returns (S3's limit).
pub(crate) const MAX_LIST_LIMIT: usize = 1000;
/// The largest single upload and so the largest presigned PUT (S3's limit).
pub(crate) const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;
/// What an object without a declared content type is served as.
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The store's key prefix, joined to every key the caller passes.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeySpace {
    prefix: String,
}

impl KeySpace {
    /// Checks the configured prefix; it follows the rules of listing prefixes.
    pub(crate) fn new(prefix: Option<&str>) -> Result<Self, BlobError> {
        let prefix = prefix.unwrap_or_default();
        validate_prefix(prefix)
            .map_err(|e| BlobError::InvalidConfig(format!("key_prefix: {e}")))?;
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The backend key of a caller's key, both validated.
    pub(crate) fn full(&self, key: &str) -> Result<String, BlobError> {
        validate_key(key)?;
        let full = format!("{}{key}", self.prefix);
        validate_key(&full)?;
        Ok(full)
    }

    /// The backend prefix of a caller's listing prefix.
    pub(crate) fn full_prefix(&self, prefix: &str) -> Result<String, BlobError> {
        validate_prefix(prefix)?;
        let full = format!("{}{prefix}", self.prefix);
        validate_prefix(&full)?;
        Ok(full)
    }

    /// The caller's key of a backend key; `None` if outside this space.
    pub(crate) fn strip<'a>(&self, full: &'a str) -> Option<&'a str> {
        full.strip_prefix(self.prefix.as_str())
    }
}

/// A key is 1..=1024 bytes of non-control characters, made of non-empty
/// `/`-separated segments that are neither `.` nor `..`.
pub(crate) fn validate_key(key: &str) -> Result<(), BlobError> {
    if key.is_empty() {
        return Err(invalid("key must not be empty"));
    }
    validate_prefix(key)?;
    match key.rsplit('/').next() {
        Some("") => Err(invalid(format!("key {key:?} must not end with '/'"))),
        Some(last @ ("." | "..")) => Err(invalid(format!(
            "key {key:?} must not contain the segment {last:?}"
        ))),
        _ => Ok(()),
    }
}

/// A listing prefix may be empty, end with `/` or end inside a segment;
/// its complete segments obey the key rules.
fn validate_prefix(prefix: &str) -> Result<(), BlobError> {
    if prefix.len() > MAX_KEY_BYTES {
        return Err(invalid(format!(
            "key is {} bytes, more than {MAX_KEY_BYTES}",
            prefix.len()
        )));
    }
    if prefix.chars().any(char::is_control) {
        return Err(invalid(format!(
            "key {prefix:?} must not contain control characters"
        )));
    }
    if prefix.starts_with('/') {
        return Err(invalid(format!("key {prefix:?} must not start with '/'")));
    }
    // Every segment but a trailing partial one must be a real name.
    let mut segments: Vec<&str> = prefix.split('/').collect();
    segments.pop();
    if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
        return Err(invalid(format!(
            "key {prefix:?} must not contain the segment {bad:?}"
        )));
    }
    Ok(())
}

/// Checks the content type and metadata of a write.
pub(crate) fn validate_put(options: &PutOptions) -> Result<(), BlobError> {
    if let Some(content_type) = &options.content_type {
        validate_content_type(content_type)?;
    }
    let mut total = 0;
    for (name, value) in &options.metadata {
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(invalid(format!(
                "metadata name {name:?} must match [a-z0-9-]+"
            )));
        }
        if !is_header_text(value) && !value.is_empty() {
            return Err(invalid(format!(
                "metadata {name:?} must be printable ASCII without surrounding spaces"
            )));
        }
        total += name.len() + value.len();
    }
    if total > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "metadata is {total} bytes, more than {MAX_METADATA_BYTES}"
        )));
    }
    Ok(())
}

/// A content type is a printable-ASCII header value of at most 255 bytes.
fn validate_content_type(content_type: &str) -> Result<(), BlobError> {
    if is_header_text(content_type) && content_type.len() <= 255 {
        Ok(())
    } else {
        Err(invalid(format!(
            "content type {content_type:?} must be 1..=255 bytes of printable ASCII"
        )))
    }
}

/// Upload constraints: a valid content type and at most [`MAX_SINGLE_PUT`] bytes.
pub(crate) fn validate_constraints(constraints: &PresignConstraints) -> Result<(), BlobError> {
    if let Some(content_type) = &constraints.content_type {
        validate_content_type(content_type)?;
    }
    match constraints.content_length {
        Some(length) if length > MAX_SINGLE_PUT => Err(invalid(format!(
            "content length {length} is more than {MAX_SINGLE_PUT}"
        ))),
        _ => Ok(()),
    }
}

/// A range must hold at least one byte.
pub(crate) fn validate_range(range: &Range<u64>) -> Result<(), BlobError> {
    if range.start < range.end {
        Ok(())
    } else {
        Err(invalid(format!("range {range:?} is empty")))
    }
}

/// A presigned URL lives between one second and seven days.
pub(crate) fn validate_expiry(expires_in: Duration) -> Result<(), BlobError> {
    if expires_in >= Duration::from_secs(1) && expires_in <= MAX_EXPIRY {
        Ok(())
    } else {
        Err(invalid(format!(
            "expiry {expires_in:?} must be between 1 s and 7 days"
        )))
    }
}

/// A page holds 1..=1000 entries.
pub(crate) fn validate_limit(limit: usize) -> Result<(), BlobError> {
    if (1..=MAX_LIST_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(invalid(format!(
            "list limit {limit} must be between 1 and {MAX_LIST_LIMIT}"
        )))
    }
}

/// Percent-encodes every byte `keep` rejects, with upper-case hex digits.
pub(crate) fn percent_encode(text: &str, keep: impl Fn(usize, u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        if keep(i, b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3986 unreserved bytes: safe anywhere in a URL.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_header_text(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.starts_with(' ')
        && !text.ends_with(' ')
}

fn invalid(message: impl Into<String>) -> BlobError {
    BlobError::InvalidArgument(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_shared_rules() {
        for good in [
            "a",
            "a/b.txt",
            "x/..y/z",
            "ünï côdé/(1).jpg",
            &"k".repeat(1024),
        ] {
            assert!(validate_key(good).is_ok(), "{good:?} rejected");
        }
        let long = "k".repeat(1025);
        for bad in [
            "", "../x", "a/../b", "a/..", "..", "./a", "a/./b", "a/.", "/a", "a//b", "a/", "a\0b",
            "a\nb", "a\u{7f}", "a\u{85}b", &long,
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn prefixes_may_be_empty_or_end_with_a_slash() {
        let space = KeySpace::new(Some("t/")).unwrap();
        assert_eq!(space.full_prefix("").unwrap(), "t/");
        assert_eq!(space.full_prefix("a/").unwrap(), "t/a/");
        assert_eq!(space.full_prefix("a/b").unwrap(), "t/a/b");
        assert!(space.full_prefix("../").is_err());
        assert!(KeySpace::new(Some("/abs")).is_err());
        assert_eq!(space.strip("t/a/b"), Some("a/b"));
    }

    #[test]
    fn the_prefix_cannot_smuggle_a_dot_segment() {
        let space = KeySpace::new(Some(".")).unwrap();
        assert!(space.full("./x").is_err());
        assert!(space.full("x").is_ok());
    }

    #[test]
    fn metadata_must_be_header_safe() {
        let mut options = PutOptions::default();
        options.metadata.insert("owner-id".into(), "u 1".into());
        assert!(validate_put(&options).is_ok());
        for (name, value) in [
            ("Upper", "v"),
            ("a_b", "v"),
            ("", "v"),
            ("a", "é"),
            ("a", "x\n"),
        ] {
            let mut options = PutOptions::default();
            options.metadata.insert(name.into(), value.into());
            assert!(
                validate_put(&options).is_err(),
                "{name:?}={value:?} accepted"
            );
        }
    }

    #[test]
    fn encoding_keeps_only_what_is_asked() {
        assert_eq!(
            percent_encode("a b/é", |_, b| is_unreserved(b)),
            "a%20b%2F%C3%A9"
        );
    }
}
