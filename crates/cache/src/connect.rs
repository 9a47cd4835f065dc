//! Choosing a backend from a URL, and the options every backend shares.

use std::sync::Arc;
use std::time::Duration;

use crate::keys::Keyspace;
use crate::memory::MemoryCache;
use crate::redis_backend::RedisCache;
use crate::{CacheError, CacheRef};

/// Options that apply to every backend.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// Prepended to every key and channel (script keys included): tests use
    /// a unique prefix to share one Redis. Follows the key rules.
    pub key_prefix: Option<String>,
    /// Upper bound for one operation (connect, command, script, subscribe):
    /// past it the call fails with [`CacheError::Unavailable`] instead of hanging.
    pub op_timeout: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            key_prefix: None,
            op_timeout: Duration::from_secs(2),
        }
    }
}

/// Chooses the backend by URL: `redis://[user:password@]host:port[/db]` or
/// `memory://` (in-process, lost on exit).
///
/// Every `memory://` call makes a new, empty cache: components that must
/// share state or pub/sub in one process share the returned handle. Redis
/// connects eagerly, so a server that is down now is `Unavailable` within
/// `op_timeout`; once connected, the handle reconnects by itself.
pub async fn connect(url: &str, options: CacheOptions) -> Result<CacheRef, CacheError> {
    if options.op_timeout.is_zero() {
        return Err(CacheError::InvalidArgument(
            "op_timeout must be positive".into(),
        ));
    }
    let keys = Keyspace::new(options.key_prefix.clone())?;
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        CacheError::InvalidArgument(format!("cache url {:?} has no scheme", redact(url)))
    })?;
    let cache: CacheRef = match scheme {
        "memory" if rest.is_empty() => Arc::new(MemoryCache::new(keys)),
        "redis" => Arc::new(RedisCache::connect(url, keys, options.op_timeout).await?),
        _ => {
            return Err(CacheError::InvalidArgument(format!(
                "unsupported cache url {:?}; expected redis://host:port[/db] or memory://",
                redact(url)
            )));
        }
    };
    tracing::info!(
        backend = cache.backend(),
        prefix = options.key_prefix.as_deref().unwrap_or_default(),
        "cache connected"
    );
    Ok(cache)
}

/// Removes a password from a URL before it reaches a log or an error.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("redis://:secret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
    }

    #[tokio::test]
    async fn unknown_schemes_and_bad_options_are_rejected() {
        for url in [
            "rediss://h:6379",
            "memcached://h",
            "memory://named",
            "no-scheme",
        ] {
            let err = connect(url, CacheOptions::default()).await.err();
            assert!(
                matches!(err, Some(CacheError::InvalidArgument(_))),
                "{url}: {err:?}"
            );
        }
        let zero = CacheOptions {
            op_timeout: Duration::ZERO,
            ..CacheOptions::default()
        };
        assert!(connect("memory://", zero).await.is_err());
    }
}
