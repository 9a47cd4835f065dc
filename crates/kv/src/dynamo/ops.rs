//! Single-item operations and queries on DynamoDB.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoBackend;
use super::call::{Failure, Idempotent, no_extra};
use super::codec::{self, Expr, n, s};
use crate::KvError;
use crate::cursor::Position;
use crate::limits::attr;
use crate::model::{Condition, Item, now_unix};
use crate::query::{Direction, Query, SortRange};
use crate::store::{Fetched, TableRef};

impl DynamoBackend {
    /// `PutItem` with the condition's expression; returns the version stored.
    pub(super) async fn put_item(
        &self,
        table: &TableRef,
        item: &Item,
        condition: Condition,
    ) -> Result<u64, KvError> {
        let (expr, version) = codec::condition(condition, item.version, now_unix())?;
        let attrs = codec::to_attrs(item, version);
        let idempotent = idempotent_if_blind(condition);
        let result = self
            .send(idempotent, no_extra, || {
                self.client
                    .put_item()
                    .table_name(&table.full)
                    .set_item(Some(attrs.clone()))
                    .set_condition_expression(expr.text())
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(version),
            Err(Failure::Service(PutItemError::ConditionalCheckFailedException(_))) => {
                Err(condition_failed(table, &item.pk, &item.sk))
            }
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }

    /// Strongly consistent `GetItem`, hiding an expired item.
    pub(super) async fn get_item(
        &self,
        table: &TableRef,
        pk: &str,
        sk: &str,
    ) -> Result<Option<Item>, KvError> {
        let key = codec::key(pk, sk);
        let out = self
            .send(Idempotent::Yes, no_extra, || {
                self.client
                    .get_item()
                    .table_name(&table.full)
                    .set_key(Some(key.clone()))
                    .consistent_read(true)
                    .send()
            })
            .await
            .map_err(|f| f.into_kv(Some(table)))?;
        let Some(attrs) = out.item else {
            return Ok(None);
        };
        let item = codec::from_attrs(&attrs)?;
        Ok((!item.is_expired(now_unix())).then_some(item))
    }

    /// `DeleteItem`, conditioned on the version when asked.
    pub(super) async fn delete_item(
        &self,
        table: &TableRef,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError> {
        let (expr, _) = codec::condition(condition, 0, now_unix())?;
        let key = codec::key(pk, sk);
        let result = self
            .send(idempotent_if_blind(condition), no_extra, || {
                self.client
                    .delete_item()
                    .table_name(&table.full)
                    .set_key(Some(key.clone()))
                    .set_condition_expression(expr.text())
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(Failure::Service(DeleteItemError::ConditionalCheckFailedException(_))) => {
                Err(condition_failed(table, pk, sk))
            }
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }

    /// `UpdateItem ADD` on a live (or absent) item; an expired one is replaced first.
    pub(super) async fn add(
        &self,
        table: &TableRef,
        (pk, sk): (&str, &str),
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError> {
        let counter_attr = format!("{}{counter}", attr::COUNTER_PREFIX);
        loop {
            let now = now_unix();
            let live = codec::live(now);
            let expr = Expr {
                text: format!("attribute_not_exists(#pk) OR {}", live.text),
                ..live
            }
            .name("#pk", attr::PK)
            .name("#c", &counter_attr)
            .name("#v", attr::VERSION)
            .value(":d", n(delta))
            .value(":one", n(1));
            let key = codec::key(pk, sk);
            let result = self
                .send(Idempotent::No, no_extra, || {
                    self.client
                        .update_item()
                        .table_name(&table.full)
                        .set_key(Some(key.clone()))
                        .update_expression("ADD #c :d, #v :one")
                        .set_condition_expression(expr.text())
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .return_values(ReturnValue::UpdatedNew)
                        .send()
                })
                .await;
            match result {
                Ok(out) => {
                    let attrs = out.attributes.unwrap_or_default();
                    return codec::number(&attrs, &counter_attr)?.ok_or_else(|| {
                        KvError::Internal(format!("counter {counter:?} is not a 64-bit integer"))
                    });
                }
                // The item is expired: start it over, unless someone else just did.
                Err(Failure::Service(UpdateItemError::ConditionalCheckFailedException(_))) => {
                    let fresh = Item {
                        counters: [(counter.to_owned(), delta)].into(),
                        ..Item::new(pk, sk, Vec::new())
                    };
                    match self.replace_expired(table, &fresh, now).await {
                        Err(KvError::ConditionFailed { .. }) => continue,
                        other => return other.map(|()| delta),
                    }
                }
                Err(other) => return Err(other.into_kv(Some(table))),
            }
        }
    }

    /// Writes `item` (version 1) over an item that is expired at `now`.
    async fn replace_expired(
        &self,
        table: &TableRef,
        item: &Item,
        now: i64,
    ) -> Result<(), KvError> {
        let attrs = codec::to_attrs(item, 1);
        let result = self
            .send(Idempotent::No, no_extra, || {
                self.client
                    .put_item()
                    .table_name(&table.full)
                    .set_item(Some(attrs.clone()))
                    .condition_expression("#exp <= :now")
                    .expression_attribute_names("#exp", attr::EXPIRES_AT)
                    .expression_attribute_values(":now", n(now))
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(Failure::Service(PutItemError::ConditionalCheckFailedException(_))) => {
                Err(condition_failed(table, &item.pk, &item.sk))
            }
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }

    /// Queries until `limit + 1` live items are seen or the range ends.
    ///
    /// `Limit` counts items before the TTL filter, so one page may take several requests.
    pub(super) async fn query_page(
        &self,
        table: &TableRef,
        index: bool,
        query: &Query,
        start: Option<Position>,
    ) -> Result<Fetched, KvError> {
        let expr = key_condition(index, query, now_unix());
        let mut start_key = start.map(|p| start_key(&query.pk, p));
        let mut items = Vec::new();
        loop {
            let want = (query.limit + 1 - items.len()) as i32;
            let out = self
                .send(Idempotent::Yes, no_extra, || {
                    let request = self
                        .client
                        .query()
                        .table_name(&table.full)
                        .key_condition_expression(expr.0.text.clone())
                        .filter_expression(expr.1.clone())
                        .set_expression_attribute_names(expr.0.names())
                        .set_expression_attribute_values(expr.0.values())
                        .scan_index_forward(query.direction == Direction::Forward)
                        .limit(want)
                        .set_exclusive_start_key(start_key.clone());
                    if index {
                        request.index_name(attr::GSI1).send()
                    } else {
                        request.consistent_read(true).send()
                    }
                })
                .await
                .map_err(|f| f.into_kv(Some(table)))?;
            for attrs in out.items.unwrap_or_default() {
                items.push(codec::from_attrs(&attrs)?);
            }
            if items.len() > query.limit {
                items.truncate(query.limit);
                return Ok(Fetched { items, more: true });
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => return Ok(Fetched { items, more: false }),
            }
        }
    }
}

/// The key condition (with every placeholder) and the TTL filter text.
fn key_condition(index: bool, query: &Query, now: i64) -> (Expr, String) {
    let live = codec::live(now);
    let filter = live.text.clone();
    let (part, sort) = if index {
        (attr::GSI1PK, attr::GSI1SK)
    } else {
        (attr::PK, attr::SK)
    };
    let range = match &query.range {
        SortRange::All => String::new(),
        SortRange::Between(..) => " AND #s BETWEEN :a AND :b".into(),
        SortRange::BeginsWith(_) => " AND begins_with(#s, :a)".into(),
        SortRange::Gt(_) => " AND #s > :a".into(),
        SortRange::Ge(_) => " AND #s >= :a".into(),
        SortRange::Lt(_) => " AND #s < :a".into(),
        SortRange::Le(_) => " AND #s <= :a".into(),
    };
    let mut expr = Expr {
        text: format!("#p = :p{range}"),
        ..live
    }
    .name("#p", part)
    .value(":p", s(&query.pk));
    if !range.is_empty() {
        expr = expr.name("#s", sort);
    }
    for (alias, bound) in [":a", ":b"].into_iter().zip(query.range.bounds()) {
        expr = expr.value(alias, s(bound));
    }
    (expr, filter)
}

/// The `ExclusiveStartKey` resuming after `position` in partition `pk`.
fn start_key(pk: &str, position: Position) -> codec::Attrs {
    match position {
        Position::Table { sk } => codec::key(pk, &sk),
        Position::Index {
            gsi1sk,
            pk: item_pk,
            sk,
        } => {
            let mut key = codec::key(&item_pk, &sk);
            key.insert(attr::GSI1PK.to_owned(), s(pk));
            key.insert(attr::GSI1SK.to_owned(), AttributeValue::S(gsi1sk));
            key
        }
    }
}

/// Blind writes can be repeated safely; conditional ones cannot.
fn idempotent_if_blind(condition: Condition) -> Idempotent {
    if condition == Condition::None {
        Idempotent::Yes
    } else {
        Idempotent::No
    }
}

/// The conflict error for one item.
pub(super) fn condition_failed(table: &TableRef, pk: &str, sk: &str) -> KvError {
    KvError::ConditionFailed {
        table: table.name.clone(),
        pk: pk.to_owned(),
        sk: sk.to_owned(),
    }
}
