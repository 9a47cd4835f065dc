//! Snapshots and anti-entropy: the half of replication that survives lost
//! messages and dead nodes.
//!
//! Writing (every `refresh`, and within `anti_entropy` of a local change):
//! the node re-stamps its connected devices with a fresh expiry, writes the
//! entries it owns as chunks, then its manifest, all with TTL `device_ttl`,
//! and refreshes its id in `presence:nodes`. Reading (every `anti_entropy`,
//! at start-up, and at once after lost deltas): the node reads the manifest
//! of every other live node and, if its epoch moved, the chunks, and merges
//! them. A dead node's keys expire; its entries expire by their own TTL.
//! Every `device_ttl` the node prunes users offline for longer than
//! `offline_retention`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chatflow_runtime::clock::now_ms;
use futures::StreamExt;

use super::{Inner, bump};
use crate::wire::{self, Manifest, NODES_KEY, WireEntry};

/// Other nodes read at once during a pass.
const CONCURRENCY: usize = 16;

/// Writes and reads snapshots on schedule until the node stops.
pub(super) async fn run(inner: Arc<Inner>) {
    let settings = inner.settings.clone();
    let mut ticks = tokio::time::interval(settings.anti_entropy);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_write = Instant::now();
    let mut last_prune = Instant::now();
    let mut epochs: HashMap<String, u64> = HashMap::new();
    loop {
        tokio::select! {
            () = inner.stop.cancelled() => return,
            _ = ticks.tick() => {}
            () = inner.resync.notified() => epochs.clear(),
        }
        let dirty = inner.core.lock().snapshot_dirty;
        let since_write = last_write.elapsed();
        if since_write >= settings.refresh() || (dirty && since_write >= settings.anti_entropy) {
            last_write = Instant::now();
            write(&inner).await;
        }
        merge_with(&inner, &mut epochs).await;
        if last_prune.elapsed() >= settings.device_ttl {
            last_prune = Instant::now();
            let retention =
                i64::try_from(settings.offline_retention.as_millis()).unwrap_or(i64::MAX);
            let entries = inner.core.lock().prune(now_ms(), retention);
            metrics::gauge!(crate::metrics::STATE_ENTRIES).set(entries as f64);
        }
        let (devices, watches) = (
            inner.core.lock().local_devices(),
            inner.watches.lock().len(),
        );
        metrics::gauge!(crate::metrics::LOCAL_DEVICES).set(devices as f64);
        metrics::gauge!(crate::metrics::WATCHES).set(watches as f64);
    }
}

/// Re-stamps this node's devices and writes its snapshot; failures are
/// logged (the next attempt comes within `anti_entropy`).
pub(super) async fn write(inner: &Inner) {
    let (entries, changed) = inner.core.lock().refresh(now_ms());
    if !changed.is_empty() {
        inner.changed(&changed);
    }
    // A new epoch per attempt: a half-written snapshot never shares one.
    let epoch = inner
        .counters
        .epoch
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    if let Err(err) = store(inner, epoch, &entries).await {
        // Retried soon: the snapshot is dirty again.
        inner.core.lock().snapshot_dirty = true;
        metrics::counter!(crate::metrics::REPLICATION_ERRORS, "op" => "snapshot").increment(1);
        tracing::warn!(error = %err, "cannot write the presence snapshot");
        return;
    }
    bump(&inner.counters.snapshot_writes, 1);
    metrics::counter!(crate::metrics::SNAPSHOT_WRITES).increment(1);
}

async fn store(
    inner: &Inner,
    epoch: u64,
    entries: &[WireEntry],
) -> Result<(), chatflow_cache::CacheError> {
    let ttl = inner.settings.device_ttl;
    let node = &inner.node_id;
    let chunks = wire::encode_batches(node, Some(epoch), entries);
    for (index, chunk) in (0u32..).zip(&chunks) {
        inner
            .cache
            .set(&wire::chunk_key(node, index), chunk, Some(ttl))
            .await?;
    }
    let manifest = Manifest {
        v: wire::VERSION,
        node: node.clone(),
        epoch,
        chunks: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
    };
    let manifest = wire::encode_manifest(&manifest);
    inner
        .cache
        .set(&wire::manifest_key(node), &manifest, Some(ttl))
        .await?;
    inner
        .cache
        .expiring_set_add(NODES_KEY, node.as_bytes(), ttl)
        .await?;
    Ok(())
}

/// One full anti-entropy pass (start-up: nothing known yet).
pub(super) async fn merge_others(inner: &Inner) {
    merge_with(inner, &mut HashMap::new()).await;
}

/// Merges the snapshot of every other live node whose epoch moved since
/// `epochs` (updated as snapshots are merged whole).
async fn merge_with(inner: &Inner, epochs: &mut HashMap<String, u64>) {
    let members = match inner.cache.expiring_set_members(NODES_KEY).await {
        Ok(members) => members,
        Err(err) => {
            metrics::counter!(crate::metrics::REPLICATION_ERRORS, "op" => "anti_entropy")
                .increment(1);
            tracing::warn!(error = %err, "cannot list presence nodes");
            return;
        }
    };
    let nodes: HashSet<String> = members
        .iter()
        .filter_map(|m| std::str::from_utf8(m).ok())
        .filter(|n| wire::is_node_id(n) && *n != inner.node_id)
        .map(str::to_owned)
        .collect();
    epochs.retain(|node, _| nodes.contains(node));
    let known: Vec<(String, Option<u64>)> = nodes
        .into_iter()
        .map(|n| {
            let e = epochs.get(&n).copied();
            (n, e)
        })
        .collect();
    let merged: Vec<(String, u64)> = futures::stream::iter(known)
        .map(|(node, seen)| async move {
            let epoch = merge_node(inner, &node, seen).await?;
            Some((node, epoch))
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|done| async move { done })
        .collect()
        .await;
    epochs.extend(merged);
}

/// Merges `node`'s snapshot unless its epoch is still `seen`; returns the
/// epoch merged whole, if any.
async fn merge_node(inner: &Inner, node: &str, seen: Option<u64>) -> Option<u64> {
    let payload = inner.cache.get(&wire::manifest_key(node)).await.ok()??;
    let manifest = match wire::decode_manifest(&payload) {
        Ok(manifest) if manifest.node == node => manifest,
        Ok(_) => {
            let err = wire::DecodeError::Invalid("manifest of another node".into());
            inner.decode_failed("manifest", &err);
            return None;
        }
        Err(err) => {
            inner.decode_failed("manifest", &err);
            return None;
        }
    };
    if seen == Some(manifest.epoch) {
        return Some(manifest.epoch);
    }
    let mut whole = true;
    for index in 0..manifest.chunks {
        let Ok(Some(payload)) = inner.cache.get(&wire::chunk_key(node, index)).await else {
            whole = false;
            continue;
        };
        let batch = match wire::decode_batch(&payload, now_ms()) {
            Ok(batch) if batch.node == node => batch,
            Ok(_) => {
                inner.decode_failed(
                    "snapshot",
                    &wire::DecodeError::Invalid("chunk of another node".into()),
                );
                whole = false;
                continue;
            }
            Err(err) => {
                inner.decode_failed("snapshot", &err);
                whole = false;
                continue;
            }
        };
        // A chunk of a newer or older epoch is still valid data (merge is
        // idempotent); only the manifest's own epoch completes the snapshot.
        whole &= batch.epoch == Some(manifest.epoch);
        let (changed, reasserted) = inner.core.lock().merge_remote(batch.entries, now_ms());
        bump(&inner.counters.reasserts, reasserted as u64);
        if !changed.is_empty() {
            inner.changed(&changed);
        }
    }
    bump(&inner.counters.snapshot_merges, 1);
    metrics::counter!(crate::metrics::SNAPSHOT_MERGES).increment(1);
    whole.then_some(manifest.epoch)
}
