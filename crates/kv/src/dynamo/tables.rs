//! Creating, waiting for and dropping DynamoDB tables.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_table::DeleteTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use super::DynamoBackend;
use super::call::{Backoff, Failure, Idempotent, no_extra};
use crate::KvError;
use crate::limits::attr;
use crate::model::TableSpec;
use crate::store::TableRef;

/// How long `ensure_tables` waits for a new table to become ACTIVE.
const TABLE_READY_TIMEOUT: Duration = Duration::from_secs(300);

impl DynamoBackend {
    /// Creates the table when missing, waits until it and its index are ACTIVE, enables TTL.
    pub(super) async fn ensure(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError> {
        match self.describe(table).await? {
            Some(existing) => {
                let has_index = existing
                    .global_secondary_indexes()
                    .iter()
                    .any(|i| i.index_name() == Some(attr::GSI1));
                if has_index != spec.secondary_index {
                    return Err(KvError::invalid(format!(
                        "table {:?} exists with a different secondary index",
                        table.name
                    )));
                }
            }
            None => self.create(table, spec).await?,
        }
        self.wait_active(table).await?;
        if spec.ttl {
            self.enable_ttl(table).await?;
        }
        Ok(())
    }

    /// The table's description, or `None` when it does not exist.
    async fn describe(&self, table: &TableRef) -> Result<Option<TableDescription>, KvError> {
        let result = self
            .send(Idempotent::Yes, no_extra, || {
                self.client.describe_table().table_name(&table.full).send()
            })
            .await;
        match result {
            Ok(out) => Ok(out.table),
            Err(Failure::Service(DescribeTableError::ResourceNotFoundException(_))) => Ok(None),
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }

    async fn create(&self, table: &TableRef, spec: &TableSpec) -> Result<(), KvError> {
        let string_attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_error)
        };
        let mut attributes = vec![string_attr(attr::PK)?, string_attr(attr::SK)?];
        let mut index = None;
        if spec.secondary_index {
            attributes.extend([string_attr(attr::GSI1PK)?, string_attr(attr::GSI1SK)?]);
            index = Some(vec![
                GlobalSecondaryIndex::builder()
                    .index_name(attr::GSI1)
                    .key_schema(key(attr::GSI1PK, KeyType::Hash)?)
                    .key_schema(key(attr::GSI1SK, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(build_error)?,
            ]);
        }
        let schema = vec![
            key(attr::PK, KeyType::Hash)?,
            key(attr::SK, KeyType::Range)?,
        ];
        let result = self
            .send(Idempotent::Yes, no_extra, || {
                self.client
                    .create_table()
                    .table_name(&table.full)
                    .billing_mode(BillingMode::PayPerRequest)
                    .set_attribute_definitions(Some(attributes.clone()))
                    .set_key_schema(Some(schema.clone()))
                    .set_global_secondary_indexes(index.clone())
                    .send()
            })
            .await;
        match result {
            // Another process created it first: fine, we wait for it below.
            Ok(_) | Err(Failure::Service(CreateTableError::ResourceInUseException(_))) => {
                tracing::info!(table = %table.full, "dynamodb table created");
                Ok(())
            }
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }

    /// Polls until the table and every index are ACTIVE.
    async fn wait_active(&self, table: &TableRef) -> Result<(), KvError> {
        let deadline = Instant::now() + TABLE_READY_TIMEOUT;
        let mut backoff = Backoff::default();
        loop {
            let description = self
                .describe(table)
                .await?
                .ok_or_else(|| KvError::TableNotFound(table.name.clone()))?;
            let indexes_ready = description
                .global_secondary_indexes()
                .iter()
                .all(|i| i.index_status() == Some(&IndexStatus::Active));
            if description.table_status() == Some(&TableStatus::Active) && indexes_ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(KvError::Unavailable(format!(
                    "table {:?} not active after {TABLE_READY_TIMEOUT:?}",
                    table.full
                )));
            }
            backoff.wait().await;
        }
    }

    async fn enable_ttl(&self, table: &TableRef) -> Result<(), KvError> {
        let status = self
            .send(Idempotent::Yes, no_extra, || {
                self.client
                    .describe_time_to_live()
                    .table_name(&table.full)
                    .send()
            })
            .await
            .map_err(|f| f.into_kv(Some(table)))?;
        let current = status
            .time_to_live_description
            .and_then(|d| d.time_to_live_status);
        if matches!(
            current,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attr::EXPIRES_AT)
            .build()
            .map_err(build_error)?;
        let result = self
            .send(Idempotent::Yes, no_extra, || {
                self.client
                    .update_time_to_live()
                    .table_name(&table.full)
                    .time_to_live_specification(specification.clone())
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            // A concurrent ensure enabled it in between.
            Err(Failure::Service(e)) if format!("{e:?}").contains("already enabled") => Ok(()),
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }

    /// Deletes the table; a missing table is fine.
    pub(super) async fn drop(&self, table: &TableRef) -> Result<(), KvError> {
        let result = self
            .send(Idempotent::Yes, no_extra, || {
                self.client.delete_table().table_name(&table.full).send()
            })
            .await;
        match result {
            Ok(_) | Err(Failure::Service(DeleteTableError::ResourceNotFoundException(_))) => Ok(()),
            Err(other) => Err(other.into_kv(Some(table))),
        }
    }
}

/// A request the SDK refused to build: a bug on our side.
pub(super) fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> KvError {
    KvError::Internal(format!("cannot build dynamodb request: {err}"))
}
