//! Items as DynamoDB attribute maps, and the condition expressions of writes.
//!
//! Attribute names are those of [`crate::limits::attr`]; counters are top-level
//! number attributes `c:<name>` so `UpdateItem ADD` can change them atomically.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::KvError;
use crate::limits::attr;
use crate::model::{Condition, Item};

/// An attribute map as the SDK takes it.
pub(super) type Attrs = HashMap<String, AttributeValue>;

/// An expression plus the placeholders it uses.
#[derive(Debug, Default, Clone)]
pub(super) struct Expr {
    /// The expression text; empty means none.
    pub text: String,
    /// `#name` placeholders.
    pub names: HashMap<String, String>,
    /// `:value` placeholders.
    pub values: Attrs,
}

impl Expr {
    /// The text, or `None` when empty (the SDK rejects empty expressions).
    pub(super) fn text(&self) -> Option<String> {
        (!self.text.is_empty()).then(|| self.text.clone())
    }

    /// The name placeholders, or `None` when there are none.
    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The value placeholders, or `None` when there are none.
    pub(super) fn values(&self) -> Option<Attrs> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// Binds `#alias` to an attribute name.
    pub(super) fn name(mut self, alias: &str, attribute: &str) -> Self {
        self.names.insert(alias.to_owned(), attribute.to_owned());
        self
    }

    /// Binds `:alias` to a value.
    pub(super) fn value(mut self, alias: &str, value: AttributeValue) -> Self {
        self.values.insert(alias.to_owned(), value);
        self
    }
}

/// A string attribute.
pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number attribute.
pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key of an item.
pub(super) fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

/// The attributes of `item`, stored with `version`.
pub(super) fn to_attrs(item: &Item, version: u64) -> Attrs {
    let mut map = key(&item.pk, &item.sk);
    map.insert(attr::VERSION.to_owned(), n(version));
    // DynamoDB Local rejects empty binary values: an absent `d` means empty.
    if !item.data.is_empty() {
        map.insert(
            attr::DATA.to_owned(),
            AttributeValue::B(Blob::new(item.data.to_vec())),
        );
    }
    if let Some(at) = item.expires_at {
        map.insert(attr::EXPIRES_AT.to_owned(), n(at));
    }
    if let Some((gpk, gsk)) = &item.gsi1 {
        map.insert(attr::GSI1PK.to_owned(), s(gpk));
        map.insert(attr::GSI1SK.to_owned(), s(gsk));
    }
    for (name, value) in &item.counters {
        map.insert(format!("{}{name}", attr::COUNTER_PREFIX), n(value));
    }
    map
}

/// Rebuilds an item from its attributes.
pub(super) fn from_attrs(map: &Attrs) -> Result<Item, KvError> {
    let text = |name: &str| match map.get(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        None => Ok(None),
        Some(_) => Err(corrupt(name)),
    };
    let pk = text(attr::PK)?.ok_or_else(|| corrupt(attr::PK))?;
    let sk = text(attr::SK)?.ok_or_else(|| corrupt(attr::SK))?;
    let data = match map.get(attr::DATA) {
        Some(AttributeValue::B(blob)) => blob.clone().into_inner().into(),
        None => bytes::Bytes::new(),
        Some(_) => return Err(corrupt(attr::DATA)),
    };
    let mut counters = BTreeMap::new();
    for name in map.keys() {
        if let Some(counter) = name.strip_prefix(attr::COUNTER_PREFIX) {
            counters.insert(counter.to_owned(), number(map, name)?.unwrap_or_default());
        }
    }
    Ok(Item {
        version: number(map, attr::VERSION)?.unwrap_or_default(),
        data,
        expires_at: number(map, attr::EXPIRES_AT)?,
        gsi1: text(attr::GSI1PK)?.zip(text(attr::GSI1SK)?),
        counters,
        pk,
        sk,
    })
}

/// Reads a number attribute as `T`, if present.
pub(super) fn number<T: std::str::FromStr>(map: &Attrs, name: &str) -> Result<Option<T>, KvError> {
    match map.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| corrupt(name)),
        Some(_) => Err(corrupt(name)),
    }
}

fn corrupt(name: &str) -> KvError {
    KvError::Internal(format!(
        "stored item has a missing or malformed {name:?} attribute"
    ))
}

/// Expired items (`expires_at <= now`) are treated as absent.
pub(super) fn live(now: i64) -> Expr {
    Expr {
        text: "(attribute_not_exists(#exp) OR #exp > :now)".into(),
        ..Expr::default()
    }
    .name("#exp", attr::EXPIRES_AT)
    .value(":now", n(now))
}

/// The condition expression of a write, and the version the write stores.
pub(super) fn condition(
    condition: Condition,
    version: u64,
    now: i64,
) -> Result<(Expr, u64), KvError> {
    Ok(match condition {
        Condition::None => (Expr::default(), version),
        Condition::IfAbsent => {
            let expr = Expr {
                text: "attribute_not_exists(#pk) OR #exp <= :now".into(),
                ..live(now)
            };
            (expr.name("#pk", attr::PK), 1)
        }
        Condition::IfVersion(v) => {
            let next = v
                .checked_add(1)
                .ok_or_else(|| KvError::invalid("version would overflow"))?;
            let base = live(now);
            let expr = Expr {
                text: format!("#v = :ver AND {}", base.text),
                ..base
            };
            (expr.name("#v", attr::VERSION).value(":ver", n(v)), next)
        }
    })
}
