//! Durable last-seen times: `presence:last_seen:<user>` holds the user's
//! latest reported activity (Unix ms, decimal) for `last_seen_retention`.
//!
//! The replicated state forgets users offline for longer than
//! `offline_retention`, and a node that starts later never saw them at all;
//! this key answers for them. Writers only move it forward (read, compare,
//! compare-and-set), so devices reporting through different nodes in any
//! order leave the latest time.

use std::collections::HashMap;

use futures::StreamExt;

use super::Inner;
use crate::wire::last_seen_key;

/// Cache calls in flight at once for one read or write round.
const CONCURRENCY: usize = 32;
/// Attempts of a compare-and-set that lost a race.
const MAX_RACES: usize = 3;

/// The stored last-seen of each of `users` that has one; failures read as
/// unknown (logged), since last-seen is a convenience, not a promise.
pub(super) async fn read_many(inner: &Inner, users: &[String]) -> HashMap<String, i64> {
    futures::stream::iter(users.to_vec())
        .map(|user| async move {
            match inner.cache.get(&last_seen_key(&user)).await {
                Ok(Some(bytes)) => match parse(&bytes) {
                    Some(ms) => Some((user, ms)),
                    None => {
                        let err = crate::wire::DecodeError::Invalid("not a time".into());
                        inner.decode_failed("last_seen", &err);
                        None
                    }
                },
                Ok(None) => None,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read a last-seen time");
                    None
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|found| async move { found })
        .collect()
        .await
}

/// Moves each user's stored last-seen forward to the given time.
pub(super) async fn write_many(inner: &Inner, times: HashMap<String, i64>) {
    let ttl = inner.settings.last_seen_retention;
    futures::stream::iter(times)
        .map(|(user, ms)| async move {
            if let Err(err) = write_max(inner, &user, ms, ttl).await {
                metrics::counter!(crate::metrics::REPLICATION_ERRORS, "op" => "last_seen")
                    .increment(1);
                tracing::warn!(error = %err, "cannot store a last-seen time");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|()| async {})
        .await;
}

async fn write_max(
    inner: &Inner,
    user: &str,
    ms: i64,
    ttl: std::time::Duration,
) -> Result<(), chatflow_cache::CacheError> {
    let key = last_seen_key(user);
    let value = ms.to_string();
    for _ in 0..MAX_RACES {
        let current = inner.cache.get(&key).await?;
        if current
            .as_deref()
            .and_then(parse)
            .is_some_and(|held| held >= ms)
        {
            return Ok(());
        }
        let stored = inner
            .cache
            .compare_and_set(&key, current.as_deref(), value.as_bytes(), Some(ttl))
            .await?;
        if stored {
            return Ok(());
        }
    }
    Ok(())
}

/// A stored time: decimal Unix ms, positive and not absurdly large.
fn parse(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let ms: i64 = text.parse().ok()?;
    (0..=4_102_444_800_000).contains(&ms).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn stored_times_are_checked() {
        assert_eq!(parse(b"1700000000000"), Some(1_700_000_000_000));
        for bad in [&b"-1"[..], b"abc", b"99999999999999999", b"\xff"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
