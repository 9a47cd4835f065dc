//! Keeps a local flag cache in step with the config service.

use std::time::Duration;

use chatflow_flags::FlagCache;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{FlagSourceRef, WatchEvent};

/// A background task applying a source's watch stream to a [`FlagCache`],
/// reconnecting with backoff when the stream breaks.
pub struct FlagWatcher {
    synced: watch::Receiver<bool>,
    applied: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FlagWatcher {
    /// Starts watching `source` into `cache` until `shutdown`.
    pub fn spawn(source: FlagSourceRef, cache: FlagCache, shutdown: CancellationToken) -> Self {
        let (synced_tx, synced) = watch::channel(false);
        let (applied_tx, applied) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while !shutdown.is_cancelled() {
                let stream = tokio::select! {
                    s = source.watch() => s,
                    _ = shutdown.cancelled() => return,
                };
                match stream {
                    Ok(mut stream) => loop {
                        let next = tokio::select! {
                            n = stream.next() => n,
                            _ = shutdown.cancelled() => return,
                        };
                        match next {
                            Some(Ok(WatchEvent::Snapshot(flags))) => {
                                cache.replace_all(flags);
                                synced_tx.send_replace(true);
                                applied_tx.send_modify(|n| *n += 1);
                                backoff = Duration::from_millis(100);
                            }
                            Some(Ok(WatchEvent::Change(flag))) => {
                                cache.apply(flag);
                                applied_tx.send_modify(|n| *n += 1);
                            }
                            Some(Err(err)) => {
                                tracing::warn!(error = %err, "flag watch broke");
                                break;
                            }
                            None => break,
                        }
                    },
                    Err(err) => tracing::warn!(error = %err, "flag watch failed to start"),
                }
                synced_tx.send_replace(false);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        });
        Self {
            synced,
            applied,
            task,
        }
    }

    /// Resolves once the cache holds a snapshot (again, after a reconnect).
    pub async fn synced(&mut self) {
        let _ = self.synced.wait_for(|synced| *synced).await;
    }

    /// Counts frames applied to the cache, so callers can await the next one.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Stops the task.
    pub fn abort(&self) {
        self.task.abort();
    }
}
