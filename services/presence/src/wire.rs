//! What replicas exchange through the cache port, and how every payload is
//! checked before it touches the state.
//!
//! Cache keys and channels (under the cache's own key prefix):
//!
//! | name | kind | content |
//! |---|---|---|
//! | `presence:deltas` | pub/sub channel | a [`Batch`] of fresh reports from one node |
//! | `presence:nodes` | expiring set | ids of live nodes, each refreshed with its snapshot, TTL `device_ttl` |
//! | `presence:node:<node>` | value, TTL `device_ttl` | that node's [`Manifest`] |
//! | `presence:node:<node>:<i>` | value, TTL `device_ttl` | chunk `i` of its snapshot, a [`Batch`] |
//! | `presence:last_seen:<user>` | value, TTL `last_seen_retention` | the user's latest activity, Unix ms in decimal |
//!
//! Payloads are JSON. A delta batch or snapshot chunk:
//!
//! ```json
//! {"v":1,"node":"5f0c…","epoch":7,"entries":[
//!   {"user_id":"u1","device_id":"phone","entry":{"status":"online",
//!    "last_active_ms":1700000000000,"expires_at_ms":1700000030000,
//!    "stamp":{"wall_ms":1700000000000,"counter":0,"node":"5f0c…"}}}]}
//! ```
//!
//! (`epoch` only in snapshot chunks). A manifest is
//! `{"v":1,"node":"5f0c…","epoch":7,"chunks":2}`. Unknown fields are
//! ignored so a newer node can add some during a rolling deploy; a change
//! old nodes must not misread bumps `v`.
//!
//! Anything read from the cache is untrusted: a payload over
//! [`MAX_PAYLOAD_BYTES`], with more than [`MAX_ENTRIES`] entries, of another
//! version, with a malformed id, an entry stamped by another node than the
//! sender, or times that could pin the state (a stamp more than
//! [`MAX_CLOCK_SKEW`] ahead of our clock, an expiry more than
//! [`MAX_EXPIRY_AHEAD`] ahead) is refused as a whole with a
//! [`DecodeError`] — the caller logs and counts it, and nothing changes.

use std::time::Duration;

use chatflow_presence_crdt::{DeviceEntry, Status};
use serde::{Deserialize, Serialize};

use crate::view::{is_device_id, is_user_id};

/// The format version this node writes and reads.
pub const VERSION: u32 = 1;
/// Largest payload read or written (the cache allows 1 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 512 * 1024;
/// Most entries in one batch or chunk: with ids bounded, far below
/// [`MAX_PAYLOAD_BYTES`] once encoded.
pub const MAX_ENTRIES: usize = 500;
/// Most chunks a manifest may announce.
pub const MAX_CHUNKS: u32 = 2000;
/// How far ahead of our clock a stamp may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// How far ahead of our clock an expiry may be (and the longest device TTL).
pub const MAX_EXPIRY_AHEAD: Duration = Duration::from_secs(3600);
/// Longest node id, in bytes (nodes name themselves with a UUID).
pub const NODE_ID_MAX: usize = 64;

/// The channel every node publishes its deltas to and follows.
pub const DELTA_CHANNEL: &str = "presence:deltas";
/// The expiring set of live nodes.
pub const NODES_KEY: &str = "presence:nodes";

/// The key of `node`'s snapshot manifest.
pub fn manifest_key(node: &str) -> String {
    format!("presence:node:{node}")
}

/// The key of chunk `index` of `node`'s snapshot.
pub fn chunk_key(node: &str, index: u32) -> String {
    format!("presence:node:{node}:{index}")
}

/// The key of `user`'s durable last-seen time.
pub fn last_seen_key(user: &str) -> String {
    format!("presence:last_seen:{user}")
}

/// One device's report, as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// The user.
    pub user_id: String,
    /// The device.
    pub device_id: String,
    /// The report.
    pub entry: DeviceEntry,
}

/// A delta batch (on the channel) or a snapshot chunk (in a key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// [`VERSION`].
    pub v: u32,
    /// The node that made every entry.
    pub node: String,
    /// The snapshot this chunk belongs to; absent on deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The reports.
    pub entries: Vec<WireEntry>,
}

/// Where a node's snapshot is: `chunks` keys written for `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`VERSION`].
    pub v: u32,
    /// The node.
    pub node: String,
    /// Increases with every snapshot the node writes.
    pub epoch: u64,
    /// How many chunk keys the snapshot has.
    pub chunks: u32,
}

/// Why a payload was refused; `reason()` labels the metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Bigger than [`MAX_PAYLOAD_BYTES`].
    #[error("payload of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Not JSON of the expected shape.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// Another format version.
    #[error("unsupported version {0}")]
    Version(u32),
    /// Well-formed but breaking a rule.
    #[error("invalid payload: {0}")]
    Invalid(String),
}

impl DecodeError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too_large",
            Self::Malformed(_) => "malformed",
            Self::Version(_) => "version",
            Self::Invalid(_) => "invalid",
        }
    }
}

/// Encodes `entries` of `node` into batches of at most [`MAX_ENTRIES`].
pub fn encode_batches(node: &str, epoch: Option<u64>, entries: &[WireEntry]) -> Vec<Vec<u8>> {
    entries
        .chunks(MAX_ENTRIES)
        .filter_map(|chunk| {
            let batch = Batch {
                v: VERSION,
                node: node.to_owned(),
                epoch,
                entries: chunk.to_vec(),
            };
            // Plain data always serialises; a failure would be a serde bug.
            serde_json::to_vec(&batch).ok()
        })
        .collect()
}

/// Encodes a manifest.
pub fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    serde_json::to_vec(manifest).unwrap_or_default()
}

/// Decodes and checks a batch at local wall time `now_ms`.
pub fn decode_batch(payload: &[u8], now_ms: i64) -> Result<Batch, DecodeError> {
    let batch: Batch = parse(payload)?;
    check_header(batch.v, &batch.node)?;
    if batch.entries.len() > MAX_ENTRIES {
        return Err(DecodeError::Invalid(format!(
            "{} entries, more than {MAX_ENTRIES}",
            batch.entries.len()
        )));
    }
    for entry in &batch.entries {
        check_entry(entry, &batch.node, now_ms)?;
    }
    Ok(batch)
}

/// Decodes and checks a manifest.
pub fn decode_manifest(payload: &[u8]) -> Result<Manifest, DecodeError> {
    let manifest: Manifest = parse(payload)?;
    check_header(manifest.v, &manifest.node)?;
    if manifest.chunks > MAX_CHUNKS {
        return Err(DecodeError::Invalid(format!(
            "{} chunks, more than {MAX_CHUNKS}",
            manifest.chunks
        )));
    }
    Ok(manifest)
}

/// Whether `id` can name a node.
pub fn is_node_id(id: &str) -> bool {
    (1..=NODE_ID_MAX).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn parse<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(DecodeError::TooLarge(payload.len()));
    }
    serde_json::from_slice(payload).map_err(|e| DecodeError::Malformed(e.to_string()))
}

fn check_header(v: u32, node: &str) -> Result<(), DecodeError> {
    if v != VERSION {
        return Err(DecodeError::Version(v));
    }
    if !is_node_id(node) {
        return Err(DecodeError::Invalid("malformed node id".into()));
    }
    Ok(())
}

fn check_entry(wire: &WireEntry, node: &str, now_ms: i64) -> Result<(), DecodeError> {
    let invalid = |what: &str| Err(DecodeError::Invalid(what.to_owned()));
    let entry = &wire.entry;
    if !is_user_id(&wire.user_id) || !is_device_id(&wire.device_id) {
        return invalid("malformed user or device id");
    }
    if entry.stamp.node != node {
        return invalid("entry stamped by another node than the sender");
    }
    let skew = millis(MAX_CLOCK_SKEW);
    let ahead = millis(MAX_EXPIRY_AHEAD);
    if entry.stamp.wall_ms > now_ms.saturating_add(skew) || entry.stamp.wall_ms < 0 {
        return invalid("stamp too far from our clock");
    }
    if entry.expires_at_ms > now_ms.saturating_add(ahead) {
        return invalid("expiry too far ahead");
    }
    let active_max = entry.stamp.wall_ms.saturating_add(skew);
    if entry.last_active_ms < 0 || entry.last_active_ms > active_max {
        return invalid("last activity after the report");
    }
    if entry.status == Status::Offline && entry.expires_at_ms > entry.stamp.wall_ms {
        return invalid("an offline report cannot be live");
    }
    Ok(())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use chatflow_presence_crdt::Stamp;

    use super::*;

    fn largest(now: i64, i: usize) -> WireEntry {
        let user = format!("{i:0>64}");
        WireEntry {
            user_id: user,
            device_id: "d".repeat(crate::DEVICE_ID_MAX),
            entry: DeviceEntry {
                status: Status::Online,
                last_active_ms: now,
                expires_at_ms: now + 30_000,
                stamp: Stamp {
                    wall_ms: now,
                    counter: u32::MAX,
                    node: "n".repeat(NODE_ID_MAX),
                },
            },
        }
    }

    #[test]
    fn batches_of_the_largest_entries_stay_under_the_payload_limit() {
        let now = 1_700_000_000_000;
        let node = "n".repeat(NODE_ID_MAX);
        let entries: Vec<WireEntry> = (0..MAX_ENTRIES * 2 + 1).map(|i| largest(now, i)).collect();
        let batches = encode_batches(&node, Some(u64::MAX), &entries);
        assert_eq!(batches.len(), 3);
        let mut back = Vec::new();
        for payload in &batches {
            assert!(payload.len() <= MAX_PAYLOAD_BYTES, "{}", payload.len());
            let batch = decode_batch(payload, now).unwrap();
            assert_eq!(
                (batch.node.as_str(), batch.epoch),
                (node.as_str(), Some(u64::MAX))
            );
            back.extend(batch.entries);
        }
        assert_eq!(back, entries);
    }

    #[test]
    fn manifests_round_trip_and_are_bounded() {
        let manifest = Manifest {
            v: VERSION,
            node: "node-1".into(),
            epoch: 3,
            chunks: 2,
        };
        assert_eq!(
            decode_manifest(&encode_manifest(&manifest)).unwrap(),
            manifest
        );
        let huge = br#"{"v":1,"node":"n","epoch":1,"chunks":4294967295}"#;
        assert!(matches!(
            decode_manifest(huge),
            Err(DecodeError::Invalid(_))
        ));
        let newer = br#"{"v":2,"node":"n","epoch":1,"chunks":1}"#;
        assert_eq!(decode_manifest(newer).unwrap_err().reason(), "version");
        let extra = br#"{"v":1,"node":"n","epoch":1,"chunks":1,"future":true}"#;
        assert!(decode_manifest(extra).is_ok(), "unknown fields are ignored");
    }
}
