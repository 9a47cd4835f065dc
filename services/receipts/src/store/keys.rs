//! Table names and key formats of the receipts tables on the key-value store.
//!
//! | table | pk | sk | gsi1 | item |
//! |---|---|---|---|---|
//! | `receipts` | `h#<conversation>` | `head` | | last seq seen, countable count (ordinal), last countable seq |
//! | `receipts` | `c#<conversation>` | seq, 20 digits | | one countable message: its ordinal and sender |
//! | `receipts` | `m#<conversation>` | `<user>` | `u#<user>` / `<conversation>` | one member's delivered and read marks |
//! | `receipts` | `s#<user>` | `settings` | | the user's `reads_shared` |
//! | `receipts_outbox` | `o#<shard>` | `r#<conversation>#<user>#<version>` or `s#<user>#<version>` | | one event to publish |
//!
//! A member who leaves keeps a tombstone marks item (no gsi1), so the item's
//! version — which orders its events in the outbox — never starts over.
//! Zero-padded numbers sort as numbers; ids are `[A-Za-z0-9_-]` (see
//! `validate`), so `#` separates fields unambiguously.

use chatflow_kv::TableSpec;

/// Heads, the countable-message index, marks and settings.
pub const RECEIPTS: &str = "receipts";
/// Events waiting for the relay, by shard.
pub const OUTBOX: &str = "receipts_outbox";

/// Outbox shards; one relay (lease holder) per shard publishes at a time.
/// Changing it would re-shard pending events out of order: it is fixed.
pub const OUTBOX_SHARDS: u32 = 8;

/// The sort key of head items.
pub const HEAD_SK: &str = "head";
/// The sort key of settings items.
pub const SETTINGS_SK: &str = "settings";

/// The receipts tables.
pub fn table_specs() -> Vec<TableSpec> {
    vec![
        TableSpec::new(RECEIPTS).with_secondary_index(),
        TableSpec::new(OUTBOX),
    ]
}

/// Partition of a conversation's head.
pub fn head_pk(conversation_id: &str) -> String {
    format!("h#{conversation_id}")
}

/// Partition of a conversation's countable-message index.
pub fn index_pk(conversation_id: &str) -> String {
    format!("c#{conversation_id}")
}

/// Partition of a conversation's marks.
pub fn marks_pk(conversation_id: &str) -> String {
    format!("m#{conversation_id}")
}

/// Secondary-index partition of a user's live marks.
pub fn user_gsi(user_id: &str) -> String {
    format!("u#{user_id}")
}

/// Partition of a user's settings.
pub fn settings_pk(user_id: &str) -> String {
    format!("s#{user_id}")
}

/// A seq as a sort key: 20 digits, so byte order is numeric order.
pub fn seq_sk(seq: u64) -> String {
    format!("{seq:020}")
}

/// The seq encoded in an index sort key.
pub fn parse_seq_sk(sk: &str) -> Option<u64> {
    (sk.len() == 20).then(|| sk.parse().ok()).flatten()
}

/// The outbox shard of an event key (conversation or user id): FNV-1a,
/// stable across processes and versions.
pub fn shard_of(key: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(OUTBOX_SHARDS)) as u32
}

/// Partition of one outbox shard.
pub fn outbox_pk(shard: u32) -> String {
    format!("o#{shard}")
}

/// Sort key of a marks event: per member, in the order of the marks item's versions.
pub fn marks_event_sk(conversation_id: &str, user_id: &str, version: u64) -> String {
    format!("r#{conversation_id}#{user_id}#{version:020}")
}

/// Sort key of a settings event: per user, in the order of the settings item's versions.
pub fn settings_event_sk(user_id: &str, version: u64) -> String {
    format!("s#{user_id}#{version:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_numerically_and_round_trip() {
        assert!(seq_sk(9) < seq_sk(10));
        assert_eq!(parse_seq_sk(&seq_sk(42)), Some(42));
        assert_eq!(parse_seq_sk("head"), None);
        assert!(marks_event_sk("c", "u", 9) < marks_event_sk("c", "u", 10));
        assert!(settings_event_sk("u", 99) < settings_event_sk("u", 100));
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        let shards: std::collections::HashSet<u32> =
            (0..200).map(|i| shard_of(&format!("g{i}"))).collect();
        assert!(shards.iter().all(|s| *s < OUTBOX_SHARDS));
        assert_eq!(shards.len(), OUTBOX_SHARDS as usize, "poor spread");
        assert_eq!(shard_of(""), (0xcbf2_9ce4_8422_2325u64 % 8) as u32);
    }
}
