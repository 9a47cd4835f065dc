//! [`Store`]: the in-process key space with lazy expiry, guarded by one lock.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::zset::ZSet;
use crate::{CacheError, KeyTtl};

/// What a key holds.
pub(crate) enum Value {
    /// Plain bytes (counters are decimal text).
    Bytes(Bytes),
    /// A sorted set (expiring sets are sorted sets too).
    Sorted(ZSet),
}

/// A value and when it expires.
pub(crate) struct Entry {
    pub(crate) value: Value,
    pub(crate) expires_at: Option<Instant>,
}

/// Every key of one in-process cache. Expired entries are dropped when
/// touched, and by a full sweep once the writes since the last sweep reach
/// the number of keys it left (at least 1024): O(1) amortised per write,
/// and untouched garbage never outgrows the live keys by more than that.
#[derive(Default)]
pub(crate) struct Store {
    entries: HashMap<String, Entry>,
    writes_since_sweep: usize,
    sweep_after: usize,
}

impl Store {
    /// The live entry of `key`; an expired one is removed first.
    pub(crate) fn entry(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self
            .entries
            .get(key)
            .is_some_and(|e| e.expires_at.is_some_and(|at| at <= now))
        {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// The bytes under `key`.
    pub(crate) fn bytes(&mut self, key: &str, now: Instant) -> Result<Option<Bytes>, CacheError> {
        match self.entry(key, now).map(|e| &e.value) {
            None => Ok(None),
            Some(Value::Bytes(bytes)) => Ok(Some(bytes.clone())),
            Some(Value::Sorted(_)) => Err(wrong_type(key, "bytes")),
        }
    }

    /// The integer under `key`, parsed like Redis does.
    pub(crate) fn int(&mut self, key: &str, now: Instant) -> Result<Option<i64>, CacheError> {
        match self.bytes(key, now)? {
            None => Ok(None),
            Some(bytes) => parse_int(&bytes).map(Some).ok_or_else(|| {
                CacheError::WrongType(format!("value of {key:?} is not an integer"))
            }),
        }
    }

    /// Replaces `key` with bytes and a fresh TTL.
    pub(crate) fn put_bytes(&mut self, key: &str, value: Bytes, ttl_ms: Option<i64>, now: Instant) {
        self.note_write(now);
        let entry = Entry {
            value: Value::Bytes(value),
            expires_at: deadline(now, ttl_ms),
        };
        self.entries.insert(key.to_owned(), entry);
    }

    /// Removes `key`; true if it was live.
    pub(crate) fn remove(&mut self, key: &str, now: Instant) -> bool {
        self.entry(key, now).is_some() && self.entries.remove(key).is_some()
    }

    /// The sorted set under `key`, if any.
    pub(crate) fn sorted(
        &mut self,
        key: &str,
        now: Instant,
    ) -> Result<Option<&mut ZSet>, CacheError> {
        match self.entry(key, now) {
            None => Ok(None),
            Some(Entry {
                value: Value::Sorted(set),
                ..
            }) => Ok(Some(set)),
            Some(_) => Err(wrong_type(key, "sorted set")),
        }
    }

    /// The entry of the sorted set under `key`, created empty and persistent if missing.
    pub(crate) fn sorted_entry(
        &mut self,
        key: &str,
        now: Instant,
    ) -> Result<&mut Entry, CacheError> {
        self.sorted(key, now)?;
        self.note_write(now);
        let entry = self.entries.entry(key.to_owned()).or_insert_with(|| Entry {
            value: Value::Sorted(ZSet::default()),
            expires_at: None,
        });
        Ok(entry)
    }

    /// Removes `key` if it is a sorted set with no member left (as Redis does).
    pub(crate) fn drop_if_empty(&mut self, key: &str) {
        if let Some(Entry {
            value: Value::Sorted(set),
            ..
        }) = self.entries.get(key)
            && set.is_empty()
        {
            self.entries.remove(key);
        }
    }

    /// How long `key` has to live.
    pub(crate) fn ttl(&mut self, key: &str, now: Instant) -> KeyTtl {
        match self.entry(key, now) {
            None => KeyTtl::Missing,
            Some(Entry {
                expires_at: None, ..
            }) => KeyTtl::Persistent,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => {
                let left = at.saturating_duration_since(now);
                KeyTtl::ExpiresIn(Duration::from_millis(left.as_millis() as u64))
            }
        }
    }

    /// Sets the TTL of a live key; false if missing.
    pub(crate) fn expire(&mut self, key: &str, ttl_ms: i64, now: Instant) -> bool {
        match self.entry(key, now) {
            Some(entry) => {
                entry.expires_at = deadline(now, Some(ttl_ms));
                true
            }
            None => false,
        }
    }

    /// Counts a write; sweeps every expired key when it is time.
    fn note_write(&mut self, now: Instant) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= self.sweep_after.max(1024) {
            self.entries
                .retain(|_, e| e.expires_at.is_none_or(|at| at > now));
            self.writes_since_sweep = 0;
            self.sweep_after = self.entries.len();
        }
    }
}

/// The instant `ttl_ms` after `now`.
pub(crate) fn deadline(now: Instant, ttl_ms: Option<i64>) -> Option<Instant> {
    ttl_ms.map(|ms| now + Duration::from_millis(ms.max(0) as u64))
}

/// Wall-clock Unix milliseconds: the in-process counterpart of Redis `TIME`.
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Parses a decimal `i64` as strictly as Redis: optional `-`, no `+`,
/// no leading zeros, no spaces.
pub(crate) fn parse_int(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let canonical = match digits {
        [] => false,
        [b'0'] => digits.len() == bytes.len(),
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn wrong_type(key: &str, expected: &str) -> CacheError {
    CacheError::WrongType(format!("key {key:?} does not hold a {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_redis() {
        for (text, value) in [
            ("0", Some(0)),
            ("-12", Some(-12)),
            ("9223372036854775807", Some(i64::MAX)),
        ] {
            assert_eq!(parse_int(text.as_bytes()), value, "{text}");
        }
        for bad in [
            "",
            "-",
            "-0",
            "007",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "9223372036854775808",
        ] {
            assert_eq!(parse_int(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn expired_keys_are_invisible_and_swept() {
        let mut store = Store::default();
        let now = Instant::now();
        store.put_bytes("a", Bytes::from_static(b"1"), Some(10), now);
        let later = now + Duration::from_millis(10);
        assert_eq!(
            store.bytes("a", now).ok().flatten().as_deref(),
            Some(b"1".as_ref())
        );
        assert_eq!(store.ttl("a", later), KeyTtl::Missing);
        for i in 0..2048 {
            store.put_bytes(&format!("old{i}"), Bytes::new(), Some(1), now);
        }
        for i in 0..2100 {
            store.put_bytes(&format!("new{i}"), Bytes::new(), None, later);
        }
        // A sweep ran during the second batch and dropped every expired key.
        assert!(
            store.entries.len() <= 2100,
            "sweep kept {}",
            store.entries.len()
        );
    }
}
