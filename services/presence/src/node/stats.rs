//! What a node counts about itself: the same events as its metrics, kept
//! per node so tests and the embedding gateway can read them without a
//! metrics recorder.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a node has done so far (the same counts as its metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Delta batches published.
    pub deltas_published: u64,
    /// Delta batches received from other nodes and merged.
    pub deltas_received: u64,
    /// Other nodes' snapshots merged.
    pub snapshot_merges: u64,
    /// Snapshots written.
    pub snapshot_writes: u64,
    /// Payloads from the cache refused as malformed, oversized or hostile.
    pub decode_failures: u64,
    /// Watch updates delivered.
    pub watch_sent: u64,
    /// Watch updates dropped because a watcher's buffer was full.
    pub watch_dropped: u64,
    /// Local devices reported again after a remote offline report won.
    pub reasserts: u64,
}

/// The live counters behind [`NodeStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) deltas_published: AtomicU64,
    pub(crate) deltas_received: AtomicU64,
    pub(crate) snapshot_merges: AtomicU64,
    pub(crate) snapshot_writes: AtomicU64,
    pub(crate) decode_failures: AtomicU64,
    pub(crate) watch_sent: AtomicU64,
    pub(crate) watch_dropped: AtomicU64,
    pub(crate) reasserts: AtomicU64,
    /// The last snapshot epoch used.
    pub(crate) epoch: AtomicU64,
}

/// Adds `by` to `counter`.
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    /// The counts now.
    pub(crate) fn snapshot(&self) -> NodeStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        NodeStats {
            deltas_published: load(&self.deltas_published),
            deltas_received: load(&self.deltas_received),
            snapshot_merges: load(&self.snapshot_merges),
            snapshot_writes: load(&self.snapshot_writes),
            decode_failures: load(&self.decode_failures),
            watch_sent: load(&self.watch_sent),
            watch_dropped: load(&self.watch_dropped),
            reasserts: load(&self.reasserts),
        }
    }
}
