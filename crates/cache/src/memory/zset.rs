//! [`ZSet`]: the in-process sorted set, ordered like Redis (score, then member bytes).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;

/// A score with a total order; NaN never gets in (the API rejects it).
#[derive(Debug, Clone, Copy)]
struct Score(f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Members with scores, indexed both ways.
#[derive(Debug, Default)]
pub(crate) struct ZSet {
    scores: HashMap<Bytes, f64>,
    order: BTreeSet<(Score, Bytes)>,
}

impl ZSet {
    /// Adds or re-scores `member`; true if it is new.
    pub(crate) fn insert(&mut self, member: Bytes, score: f64) -> bool {
        let old = self.scores.insert(member.clone(), score);
        if let Some(old) = old {
            self.order.remove(&(Score(old), member.clone()));
        }
        self.order.insert((Score(score), member));
        old.is_none()
    }

    /// Removes `member`; true if it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove_entry(member) {
            Some((member, score)) => {
                self.order.remove(&(Score(score), member));
                true
            }
            None => false,
        }
    }

    /// The score of `member`, if present.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Members with `min <= score <= max` in order, at most `limit`.
    pub(crate) fn range(&self, min: f64, max: f64, limit: Option<usize>) -> Vec<(Bytes, f64)> {
        self.order
            .range((Score(min), Bytes::new())..)
            .take_while(|(score, _)| score.0 <= max)
            .take(limit.unwrap_or(usize::MAX))
            .map(|(score, member)| (member.clone(), score.0))
            .collect()
    }

    /// Removes the members with `min <= score <= max`; returns how many.
    pub(crate) fn remove_range(&mut self, min: f64, max: f64) -> u64 {
        let doomed = self.range(min, max, None);
        for (member, _) in &doomed {
            self.remove(member);
        }
        doomed.len() as u64
    }

    /// How many members there are.
    pub(crate) fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when the set has no member left (and so should disappear).
    pub(crate) fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_score_then_member() {
        let mut set = ZSet::default();
        assert!(set.insert(Bytes::from_static(b"b"), 1.0));
        assert!(set.insert(Bytes::from_static(b"a"), 1.0));
        assert!(set.insert(Bytes::from_static(b"c"), f64::NEG_INFINITY));
        assert!(!set.insert(Bytes::from_static(b"c"), 5.0));
        let all: Vec<_> = set.range(f64::NEG_INFINITY, f64::INFINITY, None);
        let names: Vec<&[u8]> = all.iter().map(|(m, _)| m.as_ref()).collect();
        assert_eq!(names, [b"a".as_ref(), b"b", b"c"]);
        assert_eq!(set.range(1.0, 1.0, Some(1)).len(), 1);
        assert!(set.range(3.0, 2.0, None).is_empty());
        assert_eq!(set.remove_range(0.0, 1.0), 2);
        assert_eq!((set.len(), set.score(b"c")), (1, Some(5.0)));
    }
}
