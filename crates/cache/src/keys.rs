//! Validation of keys, channels, values, TTLs and scores, and the key prefix.
//!
//! Every backend runs the same checks before touching its store, so a bad
//! argument is an `InvalidArgument` that changes nothing on every backend.

use std::time::Duration;

use crate::{CacheError, MAX_KEY_BYTES, MAX_TTL, MAX_VALUE_BYTES};

/// The namespace a handle works in: validates names and prepends the prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keyspace {
    prefix: String,
}

impl Keyspace {
    /// A keyspace under `prefix`; the prefix follows the key rules but may be empty.
    pub(crate) fn new(prefix: Option<String>) -> Result<Self, CacheError> {
        let prefix = prefix.unwrap_or_default();
        if !prefix.is_empty() {
            check_name("key prefix", &prefix)?;
        }
        Ok(Self { prefix })
    }

    /// The stored name of a caller's key.
    pub(crate) fn key(&self, key: &str) -> Result<String, CacheError> {
        check_name("key", key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    /// The stored names of several keys, in order.
    pub(crate) fn keys(&self, keys: &[String]) -> Result<Vec<String>, CacheError> {
        keys.iter().map(|key| self.key(key)).collect()
    }

    /// The server-side name of a caller's pub/sub channel.
    pub(crate) fn channel(&self, channel: &str) -> Result<String, CacheError> {
        check_name("channel", channel)?;
        Ok(format!("{}{channel}", self.prefix))
    }
}

/// Non-empty, at most [`MAX_KEY_BYTES`] bytes, no control characters.
fn check_name(what: &str, name: &str) -> Result<(), CacheError> {
    if name.is_empty() {
        return Err(CacheError::InvalidArgument(format!(
            "{what} must not be empty"
        )));
    }
    if name.len() > MAX_KEY_BYTES {
        return Err(CacheError::InvalidArgument(format!(
            "{what} is {} bytes, more than the limit of {MAX_KEY_BYTES}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(CacheError::InvalidArgument(format!(
            "{what} {name:?} contains a control character"
        )));
    }
    Ok(())
}

/// Values, members and payloads are at most [`MAX_VALUE_BYTES`] bytes.
pub(crate) fn check_value(what: &str, value: &[u8]) -> Result<(), CacheError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(CacheError::InvalidArgument(format!(
            "{what} is {} bytes, more than the limit of {MAX_VALUE_BYTES}",
            value.len()
        )));
    }
    Ok(())
}

/// A TTL in whole milliseconds (sub-millisecond parts round up), between 1 ms and [`MAX_TTL`].
pub(crate) fn ttl_ms(ttl: Duration) -> Result<i64, CacheError> {
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(CacheError::InvalidArgument(format!(
            "ttl {ttl:?} must be positive and at most {MAX_TTL:?}"
        )));
    }
    let ms = ttl.as_millis() + u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000));
    i64::try_from(ms).map_err(|_| CacheError::InvalidArgument(format!("ttl {ttl:?} is too long")))
}

/// An optional TTL in milliseconds.
pub(crate) fn opt_ttl_ms(ttl: Option<Duration>) -> Result<Option<i64>, CacheError> {
    ttl.map(ttl_ms).transpose()
}

/// Scores and bounds must be numbers; `-0.0` is stored as `0.0` on every backend.
pub(crate) fn score(what: &str, value: f64) -> Result<f64, CacheError> {
    if value.is_nan() {
        return Err(CacheError::InvalidArgument(format!(
            "{what} must not be NaN"
        )));
    }
    Ok(if value == 0.0 { 0.0 } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_then_prefixed() {
        let space = Keyspace::new(Some("t1:".into())).unwrap_or_default();
        assert_eq!(space.key("a").ok().as_deref(), Some("t1:a"));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        for bad in ["", "a\nb", "tab\there", "nul\0", "del\u{7f}", long.as_str()] {
            assert!(
                matches!(space.key(bad), Err(CacheError::InvalidArgument(_))),
                "{bad:?} accepted"
            );
        }
        assert!(space.key(&"k".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(Keyspace::new(Some("bad\n".into())).is_err());
    }

    #[test]
    fn ttls_round_up_to_milliseconds() {
        assert_eq!(ttl_ms(Duration::from_micros(1)).ok(), Some(1));
        assert_eq!(ttl_ms(Duration::from_micros(1500)).ok(), Some(2));
        assert_eq!(ttl_ms(Duration::from_millis(200)).ok(), Some(200));
        assert!(ttl_ms(Duration::ZERO).is_err());
        assert!(ttl_ms(MAX_TTL + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn values_and_scores_are_bounded() {
        assert!(check_value("value", &vec![0; MAX_VALUE_BYTES]).is_ok());
        assert!(check_value("value", &vec![0; MAX_VALUE_BYTES + 1]).is_err());
        assert!(score("score", f64::NAN).is_err());
        assert_eq!(
            score("score", -0.0).ok().map(f64::to_bits),
            Some(0.0f64.to_bits())
        );
        assert_eq!(score("score", f64::INFINITY).ok(), Some(f64::INFINITY));
    }
}
