//! The production backend: Amazon DynamoDB through aws-sdk-dynamodb.
//!
//! `dynamodb://host:port` talks plain HTTP to that endpoint (DynamoDB Local);
//! credentials and region come from the options, else the environment, else
//! placeholders (a local endpoint accepts any). `dynamodb://` uses AWS with the
//! default provider chains. The client connects lazily: a server that is down
//! makes calls fail with `Unavailable`, and the same client works again once
//! it is back. The SDK's own retries are off; [`call`] retries instead.

mod batch;
mod call;
mod codec;
mod ops;
mod tables;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

use crate::cursor::Position;
use crate::model::{Condition, Item, TableSpec, TxOp};
use crate::query::Query;
use crate::store::{Backend, Fetched, Resolved, TableRef};
use crate::{KvError, KvOptions};

/// Region used for a local endpoint when none is configured.
const LOCAL_REGION: &str = "us-east-1";

/// A DynamoDB client plus the retry and timeout policy.
#[derive(Debug)]
pub(crate) struct DynamoBackend {
    client: Client,
    op_timeout: Duration,
    max_retries: u32,
}

impl DynamoBackend {
    /// Builds a client for `rest`, the URL after `dynamodb://`: empty or `host:port`.
    pub(crate) async fn connect(rest: &str, options: &KvOptions) -> Result<Self, KvError> {
        let endpoint = endpoint_of(rest)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.op_timeout.min(Duration::from_secs(3)))
                    .operation_attempt_timeout(options.op_timeout)
                    .build(),
            );
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let region = options.region.clone().or_else(|| {
            // Only a local endpoint gets a fixed fallback; AWS uses the default chain.
            endpoint.as_ref().map(|_| {
                env("AWS_REGION")
                    .or_else(|| env("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|| LOCAL_REGION.to_owned())
            })
        });
        if let Some(region) = region {
            loader = loader.region(Region::new(region));
        }
        let keys = match (&options.access_key_id, &options.secret_access_key) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            (None, None) => None,
            _ => {
                return Err(KvError::InvalidConfig(
                    "access_key_id and secret_access_key go together".into(),
                ));
            }
        };
        // A local endpoint never consults instance metadata: env keys or placeholders.
        let keys = keys.or_else(|| {
            endpoint.as_ref().map(|_| {
                env("AWS_ACCESS_KEY_ID")
                    .zip(env("AWS_SECRET_ACCESS_KEY"))
                    .unwrap_or_else(|| ("local".to_owned(), "local".to_owned()))
            })
        });
        if let Some((id, secret)) = keys {
            loader = loader.credentials_provider(Credentials::new(
                id,
                secret,
                None,
                None,
                "chatflow-kv",
            ));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
        if let Some(url) = &endpoint {
            config = config.endpoint_url(url);
        }
        tracing::debug!(
            endpoint = endpoint.as_deref().unwrap_or("aws"),
            "dynamodb client ready"
        );
        Ok(Self {
            client: Client::from_conf(config.build()),
            op_timeout: options.op_timeout,
            max_retries: options.max_retries,
        })
    }
}

/// `""` means AWS itself; `host:port` an HTTP endpoint.
fn endpoint_of(rest: &str) -> Result<Option<String>, KvError> {
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Ok(None);
    }
    let valid = rest.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && port.parse::<u16>().is_ok() && !host.contains(['/', '?', '#', '@', ' '])
    });
    if !valid {
        return Err(KvError::InvalidConfig(format!(
            "dynamodb url must be dynamodb://host:port or dynamodb://, got dynamodb://{rest}"
        )));
    }
    Ok(Some(format!("http://{rest}")))
}

#[async_trait]
impl Backend for DynamoBackend {
    fn name(&self) -> &'static str {
        "dynamodb"
    }

    async fn ensure_table(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError> {
        self.ensure(table, spec).await
    }

    async fn drop_table(&self, table: &TableRef) -> Result<(), KvError> {
        self.drop(table).await
    }

    async fn put(
        &self,
        table: &TableRef,
        item: Item,
        condition: Condition,
    ) -> Result<u64, KvError> {
        self.put_item(table, &item, condition).await
    }

    async fn get(&self, table: &TableRef, pk: &str, sk: &str) -> Result<Option<Item>, KvError> {
        self.get_item(table, pk, sk).await
    }

    async fn query(
        &self,
        table: &TableRef,
        index: bool,
        query: &Query,
        start: Option<Position>,
    ) -> Result<Fetched, KvError> {
        self.query_page(table, index, query, start).await
    }

    async fn delete(
        &self,
        table: &TableRef,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), KvError> {
        self.delete_item(table, pk, sk, condition).await
    }

    async fn increment(
        &self,
        table: &TableRef,
        key: (&str, &str),
        counter: &str,
        delta: i64,
    ) -> Result<i64, KvError> {
        self.add(table, key, counter, delta).await
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<(), KvError> {
        self.batch_write(table, items).await
    }

    async fn transact(&self, ops: Vec<Resolved<TxOp>>) -> Result<(), KvError> {
        self.transact_write(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_an_endpoint_or_aws() {
        assert_eq!(endpoint_of("").unwrap(), None);
        assert_eq!(
            endpoint_of("127.0.0.1:8000").unwrap().as_deref(),
            Some("http://127.0.0.1:8000")
        );
        for bad in ["127.0.0.1", "h:port", "h:1/x", ":8000", "u@h:1"] {
            assert!(endpoint_of(bad).is_err(), "{bad}");
        }
    }
}
