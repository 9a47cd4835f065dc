//! A local copy of the flag set that services evaluate against.
//!
//! A service embeds one [`FlagCache`], fills it from a snapshot of the
//! `config` service and keeps it fresh from change notifications. Lookups never
//! leave the process, so a `config` outage degrades to "last known flags", not
//! to errors on the hot path.
//!
//! Recommended feed: subscribe to changes first, buffer them while fetching a
//! snapshot, call [`FlagCache::replace_all`], then [`FlagCache::apply`] the
//! buffered and following changes. `apply` is version-guarded, so replaying a
//! change the snapshot already contains is harmless.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use crate::evaluate::{Evaluation, EvaluationContext, evaluate};
use crate::model::StoredFlag;

/// The latest known state of one key: a live flag or a tombstone.
#[derive(Debug)]
struct Slot {
    version: u64,
    /// `None` once deleted; the version stays so older writes cannot resurrect it.
    flag: Option<StoredFlag>,
}

impl Slot {
    fn from_flag(flag: StoredFlag) -> Self {
        let version = flag.version;
        let flag = (!flag.deleted).then_some(flag);
        Self { version, flag }
    }
}

/// Thread-safe, cheaply cloneable flag store; clones share the same flags.
#[derive(Debug, Clone, Default)]
pub struct FlagCache {
    slots: Arc<RwLock<HashMap<String, Slot>>>,
}

impl FlagCache {
    /// An empty cache; every lookup misses until it is filled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces everything with a snapshot: afterwards the cache holds exactly
    /// these flags (tombstones in the snapshot are remembered as such).
    ///
    /// The snapshot is authoritative, even over higher versions held now, so a
    /// resync also heals a cache that drifted (e.g. after a store reset). If a
    /// key appears more than once, its highest version wins.
    pub fn replace_all(&self, flags: Vec<StoredFlag>) {
        let mut fresh: HashMap<String, Slot> = HashMap::with_capacity(flags.len());
        for flag in flags {
            match fresh.entry(flag.key.as_str().to_owned()) {
                Entry::Vacant(vacant) => {
                    vacant.insert(Slot::from_flag(flag));
                }
                Entry::Occupied(mut held) if flag.version > held.get().version => {
                    held.insert(Slot::from_flag(flag));
                }
                Entry::Occupied(_) => {}
            }
        }
        *self.write() = fresh;
    }

    /// Applies one change if it is newer than what the cache holds for its key.
    ///
    /// Returns whether it was applied. Duplicates and out-of-order deliveries
    /// (version not higher) are ignored; a `deleted` tombstone removes the flag
    /// but keeps its version, so a late older write cannot bring it back.
    pub fn apply(&self, flag: StoredFlag) -> bool {
        let mut slots = self.write();
        match slots.entry(flag.key.as_str().to_owned()) {
            Entry::Occupied(held) if held.get().version >= flag.version => false,
            Entry::Occupied(mut held) => {
                held.insert(Slot::from_flag(flag));
                true
            }
            Entry::Vacant(vacant) => {
                vacant.insert(Slot::from_flag(flag));
                true
            }
        }
    }

    /// The live flag under `key`, if any (tombstones read as absent).
    pub fn get(&self, key: &str) -> Option<StoredFlag> {
        self.read().get(key).and_then(|slot| slot.flag.clone())
    }

    /// The latest version known for `key`, tombstones included.
    pub fn version(&self, key: &str) -> Option<u64> {
        self.read().get(key).map(|slot| slot.version)
    }

    /// Evaluates the flag under `key`; `None` when the cache does not hold it.
    pub fn evaluate(&self, key: &str, ctx: &EvaluationContext) -> Option<Evaluation> {
        let slots = self.read();
        let flag = slots.get(key)?.flag.as_ref()?;
        Some(evaluate(flag, ctx))
    }

    /// The flag's boolean value, or `fallback` if it is unknown or not a boolean.
    pub fn bool_value(&self, key: &str, ctx: &EvaluationContext, fallback: bool) -> bool {
        self.typed(key, ctx, Value::as_bool).unwrap_or(fallback)
    }

    /// The flag's string value, or `fallback` if it is unknown or not a string.
    pub fn string_value(&self, key: &str, ctx: &EvaluationContext, fallback: &str) -> String {
        self.typed(key, ctx, |v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// The flag's numeric value, or `fallback` if it is unknown or not a number.
    pub fn number_value(&self, key: &str, ctx: &EvaluationContext, fallback: f64) -> f64 {
        self.typed(key, ctx, Value::as_f64).unwrap_or(fallback)
    }

    /// The flag's value whatever its kind, or `fallback` if it is unknown.
    pub fn json_value(&self, key: &str, ctx: &EvaluationContext, fallback: Value) -> Value {
        self.evaluate(key, ctx).map_or(fallback, |e| e.value)
    }

    /// How many live flags the cache holds (tombstones not counted).
    pub fn len(&self) -> usize {
        self.read()
            .values()
            .filter(|slot| slot.flag.is_some())
            .count()
    }

    /// Whether the cache holds no live flag.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn typed<T>(
        &self,
        key: &str,
        ctx: &EvaluationContext,
        extract: impl FnOnce(&Value) -> Option<T>,
    ) -> Option<T> {
        self.evaluate(key, ctx).and_then(|e| extract(&e.value))
    }

    // Every critical section is panic-free, so a poisoned lock still holds
    // consistent data; recover it rather than take the whole service down.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Slot>> {
        self.slots.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Slot>> {
        self.slots.write().unwrap_or_else(PoisonError::into_inner)
    }
}
