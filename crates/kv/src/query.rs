//! Range queries over one partition: the request, its sort-key range and the page it returns.

use crate::cursor::Cursor;
use crate::model::Item;

/// Which sort keys of the partition a query returns. Bounds compare UTF-8 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortRange {
    /// Every item of the partition.
    #[default]
    All,
    /// Sort keys in `[low, high]`, both inclusive (`low <= high`).
    Between(String, String),
    /// Sort keys starting with this prefix.
    BeginsWith(String),
    /// Sort keys strictly greater than this one.
    Gt(String),
    /// Sort keys greater than or equal to this one.
    Ge(String),
    /// Sort keys strictly less than this one.
    Lt(String),
    /// Sort keys less than or equal to this one.
    Le(String),
}

impl SortRange {
    /// Whether `sk` lies in the range.
    pub fn contains(&self, sk: &str) -> bool {
        match self {
            Self::All => true,
            Self::Between(low, high) => low.as_str() <= sk && sk <= high.as_str(),
            Self::BeginsWith(prefix) => sk.starts_with(prefix.as_str()),
            Self::Gt(bound) => sk > bound.as_str(),
            Self::Ge(bound) => sk >= bound.as_str(),
            Self::Lt(bound) => sk < bound.as_str(),
            Self::Le(bound) => sk <= bound.as_str(),
        }
    }

    /// The key values the range mentions, for validation.
    pub(crate) fn bounds(&self) -> Vec<&str> {
        match self {
            Self::All => vec![],
            Self::Between(low, high) => vec![low, high],
            Self::BeginsWith(v) | Self::Gt(v) | Self::Ge(v) | Self::Lt(v) | Self::Le(v) => vec![v],
        }
    }
}

/// Order of the returned items by sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Ascending sort keys.
    #[default]
    Forward,
    /// Descending sort keys.
    Backward,
}

/// Largest page a query may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// A query on one partition of a table or of its secondary index.
///
/// On the index, `pk` is a `gsi1pk`, the range applies to `gsi1sk`, and items
/// sharing a `gsi1sk` come in an unspecified but stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The partition to read.
    pub pk: String,
    /// Which sort keys to return.
    pub range: SortRange,
    /// Ascending or descending.
    pub direction: Direction,
    /// Maximum items in the page (1..=[`MAX_PAGE_SIZE`]).
    pub limit: usize,
    /// Where the previous page ended; `None` starts at the beginning.
    pub cursor: Option<Cursor>,
}

impl Query {
    /// Every item of partition `pk`, ascending, 100 per page.
    pub fn new(pk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            range: SortRange::All,
            direction: Direction::Forward,
            limit: 100,
            cursor: None,
        }
    }

    /// Restricts the sort keys.
    pub fn with_range(mut self, range: SortRange) -> Self {
        self.range = range;
        self
    }

    /// Returns items in descending sort-key order.
    pub fn backward(mut self) -> Self {
        self.direction = Direction::Backward;
        self
    }

    /// Sets the page size.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after a previous page.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// Items in the requested order, expired ones left out.
    pub items: Vec<Item>,
    /// Where the next page starts; `None` when the range is exhausted.
    pub next: Option<Cursor>,
}

/// The smallest string greater than every string starting with `prefix`, if any.
///
/// UTF-8 byte order equals code-point order, so bumping the last code point works.
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bound_excludes_exactly_the_prefixed_strings() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        let bound = prefix_upper_bound("msg#").unwrap();
        assert!("msg#\u{10FFFF}zz" < bound.as_str());
        assert!("msg$" >= bound.as_str());
    }

    #[test]
    fn ranges_contain_what_they_say() {
        let between = SortRange::Between("b".into(), "d".into());
        assert!(between.contains("b") && between.contains("d") && !between.contains("e"));
        assert!(SortRange::BeginsWith("m#".into()).contains("m#1"));
        assert!(!SortRange::Gt("b".into()).contains("b"));
        assert!(SortRange::Le("b".into()).contains("b"));
    }
}
