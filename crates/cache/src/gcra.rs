//! GCRA rate limiting (the generic cell rate algorithm) as an [`AtomicScript`].
//!
//! The key holds the theoretical arrival time (TAT) in Unix milliseconds.
//! A limit of `L` requests per `P` is an emission interval `T = P / L` and
//! a burst tolerance `τ = (B - 1) · T` for bursts of `B` requests. A request
//! of cost `n` at `now` is allowed iff `max(TAT, now) + n·T - now <= τ + T`;
//! then TAT moves forward and the key expires when it would no longer
//! matter, so idle limiters cost nothing.

use std::time::Duration;

use crate::{AtomicScript, CacheError, LocalKeys};

/// Largest emission interval, in ms (about 49 days).
pub const GCRA_MAX_INTERVAL_MS: i64 = 1 << 32;
/// Largest burst tolerance, in ms (about 139 years).
pub const GCRA_MAX_TOLERANCE_MS: i64 = 1 << 42;
/// Largest cost of one request.
pub const GCRA_MAX_COST: i64 = 1 << 16;
/// Largest `now`, in Unix ms (year 6429); keeps every sum exact in Lua's doubles.
pub const GCRA_MAX_NOW_MS: i64 = 1 << 47;

// Every sum the Lua body computes stays an exact integer in a double.
const _: () = assert!(
    GCRA_MAX_NOW_MS + GCRA_MAX_TOLERANCE_MS + GCRA_MAX_COST * GCRA_MAX_INTERVAL_MS < 1 << 53
);

const GCRA_LUA: &str = r#"
if #ARGV ~= 4 or #KEYS ~= 1 then
  return redis.error_reply('EINVAL gcra takes 1 key and 4 arguments')
end
local interval, tolerance, cost, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if interval < 1 or interval > 4294967296 or tolerance < 0 or tolerance > 4398046511104
   or cost < 0 or cost > 65536 or now < 0 or now > 140737488355328 then
  return redis.error_reply('EINVAL gcra argument out of range')
end
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  if not string.match(stored, '^%-?%d+$') then
    return redis.error_reply('WRONGTYPE gcra key does not hold an integer')
  end
  tat = tonumber(stored)
  if tat < now then tat = now end
end
local capacity = tolerance + interval
local new_tat = tat + cost * interval
if new_tat - now <= capacity then
  if cost > 0 then
    redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', new_tat - now))
  end
  return {1, 0, math.floor((capacity - (new_tat - now)) / interval)}
end
local remaining = math.floor(math.max(0, capacity - (tat - now)) / interval)
if cost * interval > capacity then
  return {0, -1, remaining}
end
return {0, new_tat - now - capacity, remaining}
"#;

static GCRA: AtomicScript = AtomicScript::new("gcra", GCRA_LUA, gcra_local);

/// The GCRA limiter script.
///
/// Keys: `[limiter key]`. Args: `[emission interval ms, burst tolerance ms,
/// cost, now ms]`, each within the `GCRA_MAX_*` bounds (else
/// `InvalidArgument`). Returns `[allowed 0/1, retry_after_ms, remaining]`:
/// `retry_after_ms` is 0 when allowed, the wait until the same request
/// would be allowed when not, and -1 if its cost exceeds the whole burst
/// (it never will be); `remaining` is how many more unit-cost requests
/// would be allowed right now. Cost 0 only queries. `now` comes from the
/// caller so every backend decides the same way; use the caller's
/// wall clock and keep nodes NTP-synchronised.
pub fn gcra() -> &'static AtomicScript {
    &GCRA
}

/// A decoded [`gcra()`] reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraOutcome {
    /// Whether the request conforms (and was counted).
    pub allowed: bool,
    /// When a refused request would be allowed; `None` if allowed or never.
    pub retry_after: Option<Duration>,
    /// How many more unit-cost requests would be allowed now.
    pub remaining: u64,
}

impl GcraOutcome {
    /// Decodes the script's `[allowed, retry_after_ms, remaining]`.
    pub fn from_reply(reply: &[i64]) -> Result<Self, CacheError> {
        let &[allowed, retry_after_ms, remaining] = reply else {
            return Err(CacheError::Internal(format!(
                "unexpected gcra reply {reply:?}"
            )));
        };
        Ok(Self {
            allowed: allowed == 1,
            retry_after: u64::try_from(retry_after_ms)
                .ok()
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis),
            remaining: u64::try_from(remaining).unwrap_or(0),
        })
    }
}

/// The Rust twin of [`GCRA_LUA`], step for step.
fn gcra_local(
    keys: &mut LocalKeys<'_>,
    declared: &[String],
    args: &[i64],
) -> Result<Vec<i64>, CacheError> {
    let ([key], &[interval, tolerance, cost, now]) = (declared, args) else {
        return Err(invalid("gcra takes 1 key and 4 arguments"));
    };
    let in_range = (1..=GCRA_MAX_INTERVAL_MS).contains(&interval)
        && (0..=GCRA_MAX_TOLERANCE_MS).contains(&tolerance)
        && (0..=GCRA_MAX_COST).contains(&cost)
        && (0..=GCRA_MAX_NOW_MS).contains(&now);
    if !in_range {
        return Err(invalid("gcra argument out of range"));
    }
    let tat = match keys.get(key)? {
        None => now,
        Some(bytes) => parse_tat(&bytes)
            .ok_or_else(|| CacheError::WrongType("gcra key does not hold an integer".into()))?
            .max(now),
    };
    let capacity = tolerance + interval;
    let new_tat = tat + cost * interval;
    if new_tat - now <= capacity {
        if cost > 0 {
            let ttl = Duration::from_millis((new_tat - now) as u64);
            keys.set_int(key, new_tat, Some(ttl))?;
        }
        return Ok(vec![1, 0, (capacity - (new_tat - now)) / interval]);
    }
    let remaining = (capacity - (tat - now)).max(0) / interval;
    if cost * interval > capacity {
        return Ok(vec![0, -1, remaining]);
    }
    Ok(vec![0, new_tat - now - capacity, remaining])
}

/// Accepts what the Lua body's `^%-?%d+$` accepts (within `i64`).
fn parse_tat(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn invalid(message: &str) -> CacheError {
    CacheError::InvalidArgument(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_decodes_the_reply() {
        let allowed = GcraOutcome::from_reply(&[1, 0, 4]).ok();
        assert_eq!(
            allowed,
            Some(GcraOutcome {
                allowed: true,
                retry_after: None,
                remaining: 4
            })
        );
        let refused = GcraOutcome::from_reply(&[0, 250, 0]).ok();
        assert_eq!(
            refused.and_then(|o| o.retry_after),
            Some(Duration::from_millis(250))
        );
        assert!(GcraOutcome::from_reply(&[1, 0]).is_err());
    }

    #[test]
    fn lua_bounds_match_the_rust_constants() {
        for bound in [
            GCRA_MAX_INTERVAL_MS,
            GCRA_MAX_TOLERANCE_MS,
            GCRA_MAX_COST,
            GCRA_MAX_NOW_MS,
        ] {
            assert!(
                GCRA_LUA.contains(&bound.to_string()),
                "{bound} missing from the Lua body"
            );
        }
    }
}
