//! Multi-item writes on DynamoDB: `BatchWriteItem` and `TransactWriteItems`.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, PutRequest, TransactWriteItem, WriteRequest,
};
use rand::Rng;

use super::DynamoBackend;
use super::call::{Backoff, Failure, Idempotent, no_extra};
use super::codec;
use super::tables::build_error;
use crate::KvError;
use crate::model::{Item, TxOp, now_unix};
use crate::store::{Resolved, TableRef};

/// Cancellation reasons that only mean "try again".
const RETRYABLE_REASONS: [&str; 3] = [
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "TransactionConflict",
];

impl DynamoBackend {
    /// Writes up to 25 items, re-sending `UnprocessedItems` with backoff.
    pub(super) async fn batch_write(
        &self,
        table: &TableRef,
        items: Vec<Item>,
    ) -> Result<(), KvError> {
        let requests = items
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(codec::to_attrs(item, item.version)))
                    .build()
                    .map_err(build_error)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, KvError>>()?;
        let mut pending = HashMap::from([(table.full.clone(), requests)]);
        let mut backoff = Backoff::default();
        loop {
            let out = self
                .send(Idempotent::Yes, no_extra, || {
                    self.client
                        .batch_write_item()
                        .set_request_items(Some(pending.clone()))
                        .send()
                })
                .await
                .map_err(|f| f.into_kv(Some(table)))?;
            let unprocessed = out.unprocessed_items.unwrap_or_default();
            let left: usize = unprocessed.values().map(Vec::len).sum();
            if left == 0 {
                return Ok(());
            }
            if backoff.attempts >= self.max_retries {
                return Err(KvError::Throttled(format!(
                    "{left} items still unprocessed after {} retries",
                    self.max_retries
                )));
            }
            tracing::debug!(left, "retrying unprocessed batch items");
            pending = unprocessed;
            backoff.wait().await;
        }
    }

    /// One `TransactWriteItems`; its client token makes retries safe.
    pub(super) async fn transact_write(&self, ops: Vec<Resolved<TxOp>>) -> Result<(), KvError> {
        let now = now_unix();
        let items = ops
            .iter()
            .map(|op| tx_item(op, now))
            .collect::<Result<Vec<_>, KvError>>()?;
        let token = client_token();
        let result = self
            .send(Idempotent::Yes, cancelled_only_transiently, || {
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items.clone()))
                    .client_request_token(&token)
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(Failure::Service(TransactWriteItemsError::TransactionCanceledException(e))) => {
                let codes = reason_codes(
                    e.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None")),
                    e.message().unwrap_or_default(),
                );
                let failed = codes.iter().position(|c| c != "None");
                let op = failed.unwrap_or(0);
                let reason = failed.map_or_else(|| "unknown".into(), |i| codes[i].clone());
                if reason == "ValidationError" {
                    // The request itself was wrong (e.g. an attribute too large): not a conflict.
                    return Err(KvError::invalid(format!(
                        "transaction op {op} rejected: {e}"
                    )));
                }
                Err(KvError::TransactionCanceled { op, reason })
            }
            Err(other) => Err(other.into_kv(ops.first().map(|op| &op.table))),
        }
    }
}

/// Builds the SDK item for one op, with its condition expression.
fn tx_item(op: &Resolved<TxOp>, now: i64) -> Result<TransactWriteItem, KvError> {
    let table = &op.table.full;
    let builder = TransactWriteItem::builder();
    Ok(match &op.value {
        TxOp::Put {
            item, condition, ..
        } => {
            let (expr, version) = codec::condition(*condition, item.version, now)?;
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(codec::to_attrs(item, version)))
                .set_condition_expression(expr.text())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(build_error)?;
            builder.put(put).build()
        }
        TxOp::Delete {
            pk, sk, condition, ..
        } => {
            let (expr, _) = codec::condition(*condition, 0, now)?;
            let delete = Delete::builder()
                .table_name(table)
                .set_key(Some(codec::key(pk, sk)))
                .set_condition_expression(expr.text())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(build_error)?;
            builder.delete(delete).build()
        }
        TxOp::ConditionCheck {
            pk, sk, condition, ..
        } => {
            let (expr, _) = codec::condition(*condition, 0, now)?;
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(codec::key(pk, sk)))
                .set_condition_expression(expr.text())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(build_error)?;
            builder.condition_check(check).build()
        }
    })
}

/// A cancellation caused only by throttling or a concurrent transaction is retried.
fn cancelled_only_transiently(err: &TransactWriteItemsError) -> bool {
    let TransactWriteItemsError::TransactionCanceledException(e) = err else {
        return false;
    };
    let codes = reason_codes(
        e.cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None")),
        e.message().unwrap_or_default(),
    );
    codes
        .iter()
        .any(|c| RETRYABLE_REASONS.contains(&c.as_str()))
        && codes
            .iter()
            .all(|c| c == "None" || RETRYABLE_REASONS.contains(&c.as_str()))
}

/// The per-op reason codes, from the structured list or else from the message
/// (`"… reasons [None, ConditionalCheckFailed]"`).
fn reason_codes<'a>(structured: impl Iterator<Item = &'a str>, message: &str) -> Vec<String> {
    let codes: Vec<String> = structured.map(str::to_owned).collect();
    if !codes.is_empty() {
        return codes;
    }
    let listed = message
        .rsplit_once('[')
        .and_then(|(_, tail)| tail.split_once(']'))
        .map(|(list, _)| list);
    listed
        .map(|list| list.split(',').map(|c| c.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// A fresh idempotency token: 32 random hex digits.
fn client_token() -> String {
    let value: u128 = rand::rng().random();
    format!("{value:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_come_from_the_list_or_the_message() {
        let msg = "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]";
        assert_eq!(
            reason_codes(std::iter::empty(), msg),
            ["None", "ConditionalCheckFailed"]
        );
        assert_eq!(reason_codes(["None"].into_iter(), msg), ["None"]);
        assert!(reason_codes(std::iter::empty(), "no list").is_empty());
    }
}
