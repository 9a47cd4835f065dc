//! The receipts core, shared by REST, gRPC, in-process callers and the
//! event consumers.
//!
//! - [`requests`]: mark requests of devices and users, checked;
//! - [`marks`]: the one write path of a member's marks (monotonic, retried
//!   on a lost race, committed with its event);
//! - [`unread`]: unread counts from the countable-message index;
//! - [`views`]: what a viewer may see (snapshots, aggregates), privacy enforced;
//! - [`ingest`]: message and membership events turned into heads, index
//!   items, own-send read marks and member marks;
//! - [`privacy`]: the `reads_shared` setting.

mod ingest;
mod marks;
mod privacy;
mod requests;
mod unread;
mod views;

use std::sync::Arc;

use chatflow_kv::KvError;
use futures::{StreamExt, TryStreamExt};

use crate::groups::Groups;
use crate::relay::RelayWake;
use crate::store::{Head, MarkRecord, ReceiptsStore};
use crate::{ReceiptsError, metrics as m};

pub(crate) use marks::{MarkChange, Origin};

/// Engine settings taken from the service config.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    /// Conversations summed concurrently for one user's total.
    pub unread_concurrency: usize,
    /// Attempts of a write that keeps losing races.
    pub max_write_attempts: u32,
}

struct Inner {
    store: ReceiptsStore,
    groups: Groups,
    config: EngineConfig,
    wake: Arc<RelayWake>,
}

/// The receipts operations; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store`, asking `groups` about membership and waking
    /// the relay through `wake` after each commit.
    pub(crate) fn new(
        store: ReceiptsStore,
        groups: Groups,
        config: EngineConfig,
        wake: Arc<RelayWake>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                groups,
                config,
                wake,
            }),
        }
    }

    /// The receipts tables.
    pub(crate) fn store(&self) -> &ReceiptsStore {
        &self.inner.store
    }

    pub(crate) fn groups(&self) -> &Groups {
        &self.inner.groups
    }

    fn concurrency(&self) -> usize {
        self.inner.config.unread_concurrency.max(1)
    }

    fn attempts(&self) -> u32 {
        self.inner.config.max_write_attempts.max(1)
    }

    /// Runs `call` on every item, `unread_concurrency` at a time, and
    /// returns the answers in item order (the first error stops it).
    pub(crate) async fn each<T, R, F, Fut>(
        &self,
        items: Vec<T>,
        call: F,
    ) -> Result<Vec<R>, ReceiptsError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(Engine, T) -> Fut + Send + Sync,
        Fut: Future<Output = Result<R, ReceiptsError>> + Send + 'static,
    {
        futures::stream::iter(items)
            .map(|item| call(self.clone(), item))
            .buffered(self.concurrency())
            .try_collect()
            .await
    }

    /// Checks that `user_id` is a member of `conversation_id`; else `PermissionDenied`.
    pub(crate) async fn require_member(
        &self,
        user_id: &str,
        conversation_id: &str,
    ) -> Result<(), ReceiptsError> {
        if self.groups().is_member(user_id, conversation_id).await? {
            Ok(())
        } else {
            Err(ReceiptsError::PermissionDenied(format!(
                "user {user_id} is not a member of conversation {conversation_id}"
            )))
        }
    }
}

/// Whether a store error is a lost race (a condition that no longer held).
fn lost_race(err: &KvError) -> bool {
    let lost = matches!(
        err,
        KvError::ConditionFailed { .. } | KvError::TransactionCanceled { .. }
    );
    if lost {
        metrics::counter!(m::WRITE_CONFLICTS).increment(1);
    }
    lost
}

/// The error after a write lost every race it ran.
fn contention(what: &str, attempts: u32) -> ReceiptsError {
    ReceiptsError::Unavailable {
        dependency: "store",
        reason: format!("{what}: other writers won {attempts} times in a row, retry later"),
    }
}

/// The marks a member has when they have no live item: from the start if
/// the conversation had no countable message when its members were first
/// recorded, else from its last seq (they joined later and their join is
/// still on its way through the membership feed).
pub(crate) fn joined_marks(head: &Head) -> MarkRecord {
    let at = if head.seeded { head.last_seq } else { 0 };
    MarkRecord {
        delivered: at,
        read: at,
        joined_seq: at,
        live: true,
        updated_ms: chatflow_runtime::clock::now_ms(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_without_marks_start_where_they_joined() {
        let fresh = Head {
            last_seq: 4,
            ..Head::default()
        };
        assert_eq!(joined_marks(&fresh).read, 0);
        let seeded = Head {
            seeded: true,
            ..fresh
        };
        let marks = joined_marks(&seeded);
        assert_eq!((marks.delivered, marks.read, marks.joined_seq), (4, 4, 4));
        assert!(marks.live);
    }
}
