//! The change feed behind `Watch`: one broadcast of flag changes per process,
//! fed by this process's own commits and by the bus (changes made by other
//! instances), de-duplicated by version so each subscriber sees a change once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chatflow_events::{BusError, EventBusRef, Subscription};
use chatflow_flags::StoredFlag;
use chatflow_proto::config::v1 as pb;
use chatflow_proto::events::v1::EventEnvelope;
use prost::Message;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::FLAG_CHANGED_TOPIC;

/// How many changes a slow watcher may fall behind before it is resynced.
const CAPACITY: usize = 1024;

/// A process-wide broadcast of flag changes; cheap to clone.
#[derive(Clone, Debug)]
pub struct ChangeFeed {
    sender: broadcast::Sender<StoredFlag>,
    seen: Arc<Mutex<HashMap<String, u64>>>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            seen: Arc::default(),
        }
    }
}

impl ChangeFeed {
    /// Announces a change unless this version (or a newer one) was already announced.
    pub fn publish(&self, flag: StoredFlag) {
        {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let last = seen.entry(flag.key.to_string()).or_insert(0);
            if flag.version <= *last {
                return;
            }
            *last = flag.version;
        }
        // No receivers is fine: nobody is watching.
        let _ = self.sender.send(flag);
    }

    /// A receiver of every change announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoredFlag> {
        self.sender.subscribe()
    }

    /// Starts reading flag changes published on the bus by any instance.
    /// Once this returns, every change published afterwards will be seen.
    pub async fn open_follower(bus: &EventBusRef) -> Result<Box<dyn Subscription>, BusError> {
        bus.tail(&[FLAG_CHANGED_TOPIC.to_owned()]).await
    }

    /// Feeds the changes read by `sub` (from [`ChangeFeed::open_follower`]) into this feed.
    pub async fn follow_bus(&self, mut sub: Box<dyn Subscription>, shutdown: CancellationToken) {
        loop {
            let delivery = tokio::select! {
                d = sub.next() => d,
                _ = shutdown.cancelled() => break,
            };
            match delivery {
                Ok(delivery) => match decode_change(&delivery.payload) {
                    Ok(flag) => self.publish(flag),
                    // A bad event must not stop the feed; it is logged and skipped
                    // (the tail has no group, so there is nothing to dead-letter).
                    Err(reason) => {
                        tracing::warn!(%reason, offset = delivery.offset, "undecodable flag change")
                    }
                },
                Err(err) => {
                    tracing::warn!(error = %err, "flag change feed interrupted");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
            }
        }
        let _ = sub.close().await;
    }
}

/// Decodes an envelope carrying `FlagChanged`.
fn decode_change(payload: &[u8]) -> Result<StoredFlag, String> {
    let envelope = EventEnvelope::decode(payload).map_err(|e| format!("envelope: {e}"))?;
    let change =
        pb::FlagChanged::decode(envelope.data.as_slice()).map_err(|e| format!("body: {e}"))?;
    let flag = change.flag.ok_or("change without flag")?;
    chatflow_config_client::flag_from_proto(flag).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatflow_flags::{FlagKind, FlagSpec};

    fn flag(key: &str, version: u64) -> StoredFlag {
        StoredFlag {
            key: key.parse().unwrap_or_else(|_| panic!("bad test key")),
            spec: FlagSpec {
                description: String::new(),
                kind: FlagKind::Boolean,
                variants: [
                    ("on".to_owned(), true.into()),
                    ("off".to_owned(), false.into()),
                ]
                .into(),
                default_variant: "off".to_owned(),
                off_variant: None,
                enabled: true,
                rules: vec![],
            },
            version,
            updated_at_ms: 0,
            updated_by: "t".to_owned(),
            deleted: false,
        }
    }

    #[test]
    fn duplicates_and_stale_versions_are_announced_once() {
        let feed = ChangeFeed::default();
        let mut rx = feed.subscribe();
        feed.publish(flag("a", 1));
        feed.publish(flag("a", 1));
        feed.publish(flag("b", 1));
        feed.publish(flag("a", 3));
        feed.publish(flag("a", 2));
        let got: Vec<(String, u64)> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|f| (f.key.to_string(), f.version))
            .collect();
        assert_eq!(got, [("a".into(), 1), ("b".into(), 1), ("a".into(), 3)]);
    }

    #[test]
    fn garbage_payloads_are_rejected_not_panicking() {
        assert!(decode_change(b"\xff\xff").is_err());
        assert!(decode_change(&EventEnvelope::default().encode_to_vec()).is_err());
    }
}
