//! Opaque page cursors: a position in a query, bound to that query.
//!
//! A cursor is URL-safe base64 of `[version, kind, tag(8), keys…]`, where the
//! tag is a hash of the table, partition and direction it was issued for and
//! of the keys themselves. A cursor that does not decode, was edited, or
//! belongs to another query is refused with `InvalidCursor` before any backend
//! call. The tag is a checksum, not a signature: someone who knows the format
//! can still build a cursor, but only for a position inside the same query.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::KvError;
use crate::limits;
use crate::model::Item;
use crate::query::{Direction, Query};

const FORMAT_VERSION: u8 = 1;
/// Longest cursor string accepted (keys are at most 4 KiB together).
const MAX_CURSOR_LEN: usize = 8 * 1024;

/// Where a page ended, as an opaque URL-safe string; pass it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor string received from a client; it is checked when used.
    pub fn from_string(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The cursor as a string, e.g. for a `?after=` query parameter.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The last item a page returned: enough to resume right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// On the table: the partition is the query's, so only the sort key.
    Table { sk: String },
    /// On the index: the index sort key plus the item's table key.
    Index {
        gsi1sk: String,
        pk: String,
        sk: String,
    },
}

/// What a cursor is bound to: the same query must present it again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// Full (prefixed) table name.
    pub table: &'a str,
    /// Whether the query runs on `gsi1`.
    pub index: bool,
    /// The queried partition (`pk` or `gsi1pk`).
    pub pk: &'a str,
    /// Query direction.
    pub direction: Direction,
}

impl Scope<'_> {
    fn tag(&self, keys: &[u8]) -> [u8; 8] {
        let mut hash = Sha256::new();
        for part in [self.table.as_bytes(), self.pk.as_bytes(), keys] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.update([
            u8::from(self.index),
            u8::from(self.direction == Direction::Forward),
        ]);
        let digest = hash.finalize();
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&digest[..8]);
        tag
    }
}

/// Encodes a position for the given query.
pub(crate) fn encode(scope: Scope<'_>, position: &Position) -> Cursor {
    let keys: Vec<&str> = match position {
        Position::Table { sk } => vec![sk],
        Position::Index { gsi1sk, pk, sk } => vec![gsi1sk, pk, sk],
    };
    let mut body = Vec::new();
    for key in keys {
        // Keys are at most 2048 bytes (validated on write), so u16 lengths suffice.
        body.extend_from_slice(&(key.len() as u16).to_be_bytes());
        body.extend_from_slice(key.as_bytes());
    }
    let mut out = vec![FORMAT_VERSION, u8::from(scope.index)];
    out.extend_from_slice(&scope.tag(&body));
    out.extend_from_slice(&body);
    Cursor(URL_SAFE_NO_PAD.encode(out))
}

/// Decodes a cursor presented with the given query, refusing anything else.
pub(crate) fn decode(scope: Scope<'_>, cursor: &Cursor) -> Result<Position, KvError> {
    let bad = |why: &str| KvError::InvalidCursor(why.to_owned());
    if cursor.0.is_empty() || cursor.0.len() > MAX_CURSOR_LEN {
        return Err(bad("empty or too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.0.as_bytes())
        .map_err(|_| bad("not url-safe base64"))?;
    let (header, mut rest) = bytes.split_at_checked(10).ok_or_else(|| bad("truncated"))?;
    if header[0] != FORMAT_VERSION {
        return Err(bad("unknown format"));
    }
    if header[1] != u8::from(scope.index) || header[2..10] != scope.tag(rest) {
        return Err(bad("issued for a different query"));
    }
    let count = if scope.index { 3 } else { 1 };
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_at_checked(2).ok_or_else(|| bad("truncated"))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (key, tail) = tail.split_at_checked(len).ok_or_else(|| bad("truncated"))?;
        let key = std::str::from_utf8(key).map_err(|_| bad("key is not utf-8"))?;
        if key.is_empty() {
            return Err(bad("empty key"));
        }
        keys.push(key.to_owned());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad("trailing bytes"));
    }
    let mut keys = keys.into_iter();
    let mut next = || keys.next().unwrap_or_default();
    Ok(if scope.index {
        Position::Index {
            gsi1sk: next(),
            pk: next(),
            sk: next(),
        }
    } else {
        Position::Table { sk: next() }
    })
}

/// Decodes a cursor and checks its position lies in the query's range and key limits.
pub(crate) fn checked_position(
    scope: Scope<'_>,
    cursor: &Cursor,
    query: &Query,
) -> Result<Position, KvError> {
    let position = decode(scope, cursor)?;
    let (sort, keys) = match &position {
        Position::Table { sk } => (sk, None),
        Position::Index { gsi1sk, pk, sk } => (gsi1sk, Some((pk, sk))),
    };
    let out_of_range = !query.range.contains(sort)
        || limits::key("sort key", sort, limits::MAX_SK_BYTES).is_err()
        || keys.is_some_and(|(pk, sk)| limits::item_key(pk, sk).is_err());
    if out_of_range {
        return Err(KvError::InvalidCursor("position outside the query".into()));
    }
    Ok(position)
}

/// The position right after `item` in a query of the table or its index.
pub(crate) fn position_of(item: &Item, index: bool) -> Result<Position, KvError> {
    if !index {
        return Ok(Position::Table {
            sk: item.sk.clone(),
        });
    }
    let (_, gsi1sk) = item
        .gsi1
        .clone()
        .ok_or_else(|| KvError::Internal("index query returned an item without gsi1".into()))?;
    Ok(Position::Index {
        gsi1sk,
        pk: item.pk.clone(),
        sk: item.sk.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(pk: &str) -> Scope<'_> {
        Scope {
            table: "t_messages",
            index: true,
            pk,
            direction: Direction::Forward,
        }
    }

    #[test]
    fn round_trips_and_is_url_safe() {
        let pos = Position::Index {
            gsi1sk: "2024-01-01".into(),
            pk: "conv/ü?&=".into(),
            sk: "m#0001".into(),
        };
        let cursor = encode(scope("u1"), &pos);
        assert!(
            cursor
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode(scope("u1"), &cursor).unwrap(), pos);
    }

    #[test]
    fn refuses_cursors_of_other_queries_and_garbage() {
        let position = Position::Index {
            gsi1sk: "g".into(),
            pk: "p".into(),
            sk: "s".into(),
        };
        let cursor = encode(scope("u1"), &position);
        assert_eq!(decode(scope("u1"), &cursor).unwrap(), position);
        assert!(decode(scope("u2"), &cursor).is_err());
        let backward = Scope {
            direction: Direction::Backward,
            ..scope("u1")
        };
        assert!(decode(backward, &cursor).is_err());
        for junk in ["", "!!!", "AAAA", &"A".repeat(20_000), "AQ"] {
            assert!(
                decode(scope("u1"), &Cursor::from_string(junk)).is_err(),
                "{junk}"
            );
        }
        // Flip every byte of a valid cursor: never a panic, never accepted.
        let raw = URL_SAFE_NO_PAD.decode(cursor.as_str()).unwrap();
        for i in 0..raw.len() {
            let mut forged = raw.clone();
            forged[i] ^= 0x41;
            let forged = Cursor::from_string(URL_SAFE_NO_PAD.encode(forged));
            assert!(decode(scope("u1"), &forged).is_err(), "byte {i}");
        }
    }
}
