//! Limits checked before any backend call, identical on every backend.
//!
//! They are DynamoDB's: key lengths, the 400 KB item size (estimated the way
//! DynamoDB counts it: attribute names plus values), 100 ops per transaction.

use std::collections::HashSet;

use crate::KvError;
use crate::model::{Condition, Item, MAX_TX_OPS, TxOp};
use crate::query::{MAX_PAGE_SIZE, Query};
use crate::store::Resolved;

/// Largest item DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Longest partition key, in UTF-8 bytes.
pub const MAX_PK_BYTES: usize = 2048;
/// Longest sort key, in UTF-8 bytes.
pub const MAX_SK_BYTES: usize = 1024;
/// Longest counter name, in UTF-8 bytes.
pub const MAX_COUNTER_NAME_BYTES: usize = 255;
/// Largest total size of one transaction.
const MAX_TX_BYTES: usize = 4 * 1024 * 1024;

/// Attribute names items are stored under (on DynamoDB; sizes are counted with them).
pub(crate) mod attr {
    /// Partition key.
    pub const PK: &str = "pk";
    /// Sort key.
    pub const SK: &str = "sk";
    /// Version number.
    pub const VERSION: &str = "v";
    /// Payload bytes (absent when empty).
    pub const DATA: &str = "d";
    /// TTL attribute, unix seconds.
    pub const EXPIRES_AT: &str = "expires_at";
    /// Secondary-index partition key.
    pub const GSI1PK: &str = "gsi1pk";
    /// Secondary-index sort key.
    pub const GSI1SK: &str = "gsi1sk";
    /// Prefix of counter attributes: counter `n` is stored as `c:n`.
    pub const COUNTER_PREFIX: &str = "c:";
    /// Name of the secondary index.
    pub const GSI1: &str = "gsi1";
}

/// Checks a full (prefixed) table name against DynamoDB's rules.
pub(crate) fn table_name(name: &str) -> Result<(), KvError> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok_chars && (3..=255).contains(&name.len()) {
        Ok(())
    } else {
        Err(KvError::invalid(format!(
            "table name {name:?} must be 3-255 characters of [A-Za-z0-9_.-] (prefix included)"
        )))
    }
}

/// Checks one key value: non-empty and not longer than `max` bytes.
pub(crate) fn key(what: &str, value: &str, max: usize) -> Result<(), KvError> {
    if value.is_empty() {
        return Err(KvError::invalid(format!("{what} must not be empty")));
    }
    if value.len() > max {
        return Err(KvError::invalid(format!(
            "{what} is {} bytes, over the {max} byte limit",
            value.len()
        )));
    }
    Ok(())
}

/// Checks a table key `(pk, sk)`.
pub(crate) fn item_key(pk: &str, sk: &str) -> Result<(), KvError> {
    key("pk", pk, MAX_PK_BYTES)?;
    key("sk", sk, MAX_SK_BYTES)
}

/// Checks a counter name.
pub(crate) fn counter_name(name: &str) -> Result<(), KvError> {
    key("counter name", name, MAX_COUNTER_NAME_BYTES)
}

/// Checks everything about an item and returns its estimated size.
pub(crate) fn item(item: &Item) -> Result<usize, KvError> {
    item_key(&item.pk, &item.sk)?;
    if let Some((gpk, gsk)) = &item.gsi1 {
        key("gsi1pk", gpk, MAX_PK_BYTES)?;
        key("gsi1sk", gsk, MAX_SK_BYTES)?;
    }
    for name in item.counters.keys() {
        counter_name(name)?;
    }
    let size = estimated_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(KvError::ItemTooLarge {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            size,
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(size)
}

/// DynamoDB's size of an item: every attribute's name plus its value.
pub(crate) fn estimated_size(item: &Item) -> usize {
    let text = |name: &str, value: &str| name.len() + value.len();
    let mut size = text(attr::PK, &item.pk) + text(attr::SK, &item.sk);
    size += attr::VERSION.len() + number_size(i128::from(item.version));
    if !item.data.is_empty() {
        size += attr::DATA.len() + item.data.len();
    }
    if let Some(at) = item.expires_at {
        size += attr::EXPIRES_AT.len() + number_size(i128::from(at));
    }
    if let Some((gpk, gsk)) = &item.gsi1 {
        size += text(attr::GSI1PK, gpk) + text(attr::GSI1SK, gsk);
    }
    for (name, value) in &item.counters {
        size += attr::COUNTER_PREFIX.len() + name.len() + number_size(i128::from(*value));
    }
    size
}

/// A number costs one byte per two significant digits plus one.
fn number_size(value: i128) -> usize {
    let digits = value
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1);
    digits.div_ceil(2) + 1 + usize::from(value < 0)
}

/// Checks a query for the table (`index = false`) or its secondary index.
pub(crate) fn query(query: &Query, index: bool) -> Result<(), KvError> {
    key(if index { "gsi1pk" } else { "pk" }, &query.pk, MAX_PK_BYTES)?;
    if query.limit == 0 || query.limit > MAX_PAGE_SIZE {
        return Err(KvError::invalid(format!(
            "limit must be in 1..={MAX_PAGE_SIZE}, got {}",
            query.limit
        )));
    }
    for bound in query.range.bounds() {
        key("sort range bound", bound, MAX_SK_BYTES)?;
    }
    if let crate::SortRange::Between(low, high) = &query.range
        && low > high
    {
        return Err(KvError::invalid(format!(
            "between bounds reversed: {low:?} > {high:?}"
        )));
    }
    Ok(())
}

/// Checks that a batch names every key once.
pub(crate) fn distinct_keys(items: &[Item]) -> Result<(), KvError> {
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        if !seen.insert((item.pk.as_str(), item.sk.as_str())) {
            return Err(KvError::invalid(format!(
                "item {:?}/{:?} appears twice in one batch",
                item.pk, item.sk
            )));
        }
    }
    Ok(())
}

/// Checks a transaction: op count, one op per item, meaningful conditions, size.
pub(crate) fn transaction(ops: &[Resolved<TxOp>]) -> Result<(), KvError> {
    if ops.len() > MAX_TX_OPS {
        return Err(KvError::invalid(format!(
            "a transaction holds at most {MAX_TX_OPS} ops, got {}",
            ops.len()
        )));
    }
    let mut seen = HashSet::with_capacity(ops.len());
    let mut total = 0;
    for (i, op) in ops.iter().enumerate() {
        let (_, pk, sk) = op.value.target();
        if !seen.insert((op.table.full.as_str(), pk, sk)) {
            return Err(KvError::invalid(format!(
                "op {i} touches {pk:?}/{sk:?} again; one op per item"
            )));
        }
        total += match &op.value {
            TxOp::Put { item: it, .. } => item(it)?,
            TxOp::Delete { condition, .. } => delete_condition(*condition).map(|()| 0)?,
            TxOp::ConditionCheck { condition, .. } if *condition == Condition::None => {
                return Err(KvError::invalid(format!(
                    "op {i}: condition check without a condition"
                )));
            }
            TxOp::ConditionCheck { .. } => 0,
        };
        item_key(pk, sk)?;
    }
    if total > MAX_TX_BYTES {
        return Err(KvError::invalid(format!(
            "transaction is about {total} bytes, over the {MAX_TX_BYTES} byte limit"
        )));
    }
    Ok(())
}

/// `IfAbsent` makes no sense for a delete.
pub(crate) fn delete_condition(condition: Condition) -> Result<(), KvError> {
    if condition == Condition::IfAbsent {
        return Err(KvError::invalid("delete cannot be conditioned on absence"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_cost_about_half_a_byte_per_digit() {
        assert_eq!(number_size(0), 2);
        assert_eq!(number_size(99), 2);
        assert_eq!(number_size(123), 3);
        assert_eq!(number_size(-5), 3);
        assert_eq!(number_size(i128::from(u64::MAX)), 11);
    }

    #[test]
    fn size_counts_names_and_values() {
        let item = Item::new("p", "s", vec![0u8; 10]);
        // pk+p, sk+s, v+0, d+10 bytes
        assert_eq!(estimated_size(&item), 3 + 3 + 3 + 11);
        let big = Item::new("p", "s", vec![0u8; MAX_ITEM_BYTES]);
        assert!(matches!(
            self::item(&big),
            Err(KvError::ItemTooLarge { .. })
        ));
    }

    #[test]
    fn keys_and_names_are_checked() {
        assert!(item_key("", "s").is_err());
        assert!(item_key("p", &"s".repeat(MAX_SK_BYTES + 1)).is_err());
        assert!(item_key(&"p".repeat(MAX_PK_BYTES), &"s".repeat(MAX_SK_BYTES)).is_ok());
        assert!(table_name("t_1.a-b").is_ok());
        assert!(table_name("ab").is_err());
        assert!(table_name("a\"; drop").is_err());
    }
}
