//! Table names and key formats of the router's tables on the message store.
//!
//! | table | pk | sk | item |
//! |---|---|---|---|
//! | `router_messages` | `c#<conversation>` | seq, 20 digits | one [`crate::Message`] |
//! | `router_heads` | `c#<conversation>` | `head` | version = the conversation's last seq |
//! | `router_idempotency` | `i#<conversation>#<sender>#<client_msg_id>` | `ack` | the original ack (TTL) |
//! | `router_outbox` | `o#<shard>` | `<conversation>#<seq, 20 digits>` | one event to publish |
//!
//! Zero-padded seqs sort as numbers; ids are `[A-Za-z0-9_-]` (see
//! `validate`), so `#` separates fields unambiguously.

use chatflow_kv::TableSpec;

/// Messages by conversation and seq.
pub const MESSAGES: &str = "router_messages";
/// One head per conversation; its version is the last seq.
pub const HEADS: &str = "router_heads";
/// Acks of stored writes by idempotency key, expiring.
pub const IDEMPOTENCY: &str = "router_idempotency";
/// Events waiting for the relay, by shard.
pub const OUTBOX: &str = "router_outbox";

/// Outbox shards; one relay (lease holder) per shard publishes at a time.
/// Changing it would re-shard pending events out of order: it is fixed.
pub const OUTBOX_SHARDS: u32 = 8;

/// The sort key of the head item.
pub const HEAD_SK: &str = "head";
/// The sort key of idempotency items.
pub const ACK_SK: &str = "ack";

/// The router's tables.
pub fn table_specs() -> Vec<TableSpec> {
    vec![
        TableSpec::new(MESSAGES),
        TableSpec::new(HEADS),
        TableSpec::new(IDEMPOTENCY).with_ttl(),
        TableSpec::new(OUTBOX),
    ]
}

/// Partition of a conversation's messages and head.
pub fn conversation_pk(conversation_id: &str) -> String {
    format!("c#{conversation_id}")
}

/// A seq as a sort key: 20 digits, so byte order is numeric order.
pub fn seq_sk(seq: u64) -> String {
    format!("{seq:020}")
}

/// The seq encoded in a message sort key.
pub fn parse_seq_sk(sk: &str) -> Option<u64> {
    (sk.len() == 20).then(|| sk.parse().ok()).flatten()
}

/// Key of the idempotency item of one write.
pub fn idempotency_pk(conversation_id: &str, sender_id: &str, client_msg_id: &str) -> String {
    format!("i#{conversation_id}#{sender_id}#{client_msg_id}")
}

/// The outbox shard of a conversation: FNV-1a of its id, stable across
/// processes and versions.
pub fn shard_of(conversation_id: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in conversation_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(OUTBOX_SHARDS)) as u32
}

/// Partition of one outbox shard.
pub fn outbox_pk(shard: u32) -> String {
    format!("o#{shard}")
}

/// Sort key of one event in its shard: per conversation, seq order.
pub fn outbox_sk(conversation_id: &str, seq: u64) -> String {
    format!("{conversation_id}#{seq:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_keys_sort_numerically_and_round_trip() {
        assert!(seq_sk(9) < seq_sk(10));
        assert!(seq_sk(99_999) < seq_sk(100_000));
        assert_eq!(seq_sk(u64::MAX).len(), 20);
        assert_eq!(parse_seq_sk(&seq_sk(42)), Some(42));
        assert_eq!(parse_seq_sk("42"), None);
        assert!(outbox_sk("c", 9) < outbox_sk("c", 10));
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        assert_eq!(shard_of("d_ann_bob"), shard_of("d_ann_bob"));
        let shards: std::collections::HashSet<u32> =
            (0..200).map(|i| shard_of(&format!("g{i}"))).collect();
        assert!(shards.iter().all(|s| *s < OUTBOX_SHARDS));
        assert_eq!(shards.len(), OUTBOX_SHARDS as usize, "poor spread");
        // Fixed values: a change here would reorder pending events on upgrade.
        assert_eq!(shard_of(""), (0xcbf2_9ce4_8422_2325u64 % 8) as u32);
    }
}
