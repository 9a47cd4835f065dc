//! Revocation re-checks for every session on a node, in one sweep every
//! `revalidate_secs` instead of a timer and a full token verification per
//! connection. The token was verified once at `hello` (and at each
//! `refresh`); what can change afterwards is only the revocation list in the
//! cache port, so a sweep reads just that: per user the "revoked before"
//! cutoff, per session its revoked mark — the same keys and comparison as
//! the verifier's ([`chatflow_authn::claims`]). An unreadable list keeps the
//! sessions (checked again next sweep) rather than dropping everyone.

use std::sync::Arc;
use std::time::Duration;

use base64_url::decode as b64;
use chatflow_authn::claims::{revoked_before_key, revoked_session_key};
use chatflow_cache::CacheRef;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::connection::Conn;
use crate::hub::Hub;
use crate::metrics;
use crate::protocol::close;

/// Users checked at once (Redis pipelines the reads on one connection).
const CONCURRENCY: usize = 64;

/// Sweeps `hub` every `every` until `stop`.
pub async fn run(hub: Hub, cache: CacheRef, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        sweep(&hub, &cache).await;
    }
}

/// Checks every local session once; returns how many were closed.
pub async fn sweep(hub: &Hub, cache: &CacheRef) -> usize {
    futures::stream::iter(hub.by_user())
        .map(|(user, conns)| check_user(cache, user, conns))
        .buffer_unordered(CONCURRENCY)
        .fold(0, |closed, n| async move { closed + n })
        .await
}

async fn check_user(cache: &CacheRef, user: String, conns: Vec<Arc<Conn>>) -> usize {
    let cutoff = match cache.get(&revoked_before_key(&user)).await {
        Ok(raw) => raw.and_then(|raw| {
            std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
        }),
        Err(err) => {
            tracing::debug!(error = %err, "revocation check failed");
            return 0;
        }
    };
    let mut sessions: Vec<&str> = conns.iter().map(|c| c.caller.session_id.as_str()).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let mut revoked = Vec::new();
    for session in sessions {
        match cache.get(&revoked_session_key(session)).await {
            Ok(Some(_)) => revoked.push(session),
            Ok(None) => {}
            Err(err) => tracing::debug!(error = %err, "revocation check failed"),
        }
    }
    let mut closed = 0;
    for conn in &conns {
        let listed = revoked.contains(&conn.caller.session_id.as_str());
        if listed || cutoff.is_some_and(|cutoff| cutoff >= conn.issued_at()) {
            metrics::auth_failure("revoked");
            conn.closer.close(close::REVOKED, "session revoked");
            closed += 1;
        }
    }
    closed
}

/// The `iat` of a token the verifier accepted (its payload is trusted).
pub fn issued_at(token: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Iat {
        iat: i64,
    }
    let payload = b64(token.split('.').nth(1)?)?;
    serde_json::from_slice::<Iat>(&payload).ok().map(|c| c.iat)
}

/// Unpadded base64url, as JWTs use it.
mod base64_url {
    /// The bytes of `text`, or `None` if it is not unpadded base64url.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        let (mut acc, mut bits) = (0u32, 0u32);
        for byte in text.bytes() {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => return None,
            };
            acc = (acc << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issued_at_of_a_token_is_read_from_its_payload() {
        // {"sub":"u","iat":1700000000} as unpadded base64url.
        let token = "e30.eyJzdWIiOiJ1IiwiaWF0IjoxNzAwMDAwMDAwfQ.c2ln";
        assert_eq!(issued_at(token), Some(1_700_000_000));
        assert_eq!(issued_at("e30.bm90IGpzb24.c2ln"), None);
        assert_eq!(issued_at("no-dots"), None);
        assert_eq!(base64_url::decode("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64_url::decode("a+b"), None);
    }
}
