//! Reading the embedded log: group members and live tails.
//!
//! A subscription keeps a read position per assigned partition and a small
//! buffer of fetched records. It sleeps on the writer's `appended` watch, so
//! an idle consumer costs nothing and wakes as soon as a batch is durable.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::Shared;
use super::TopicPartition;
use super::group::MemberId;
use super::writer::WriteOp;
use crate::{BusError, Delivery, Subscription};

/// Records fetched per partition per query.
const FETCH_BATCH: u32 = 128;

enum Mode {
    /// A member of a consumer group; positions start at committed offsets.
    Group { group: String, member: MemberId },
    /// A group-less reader; the sender keeps its fixed assignment alive.
    Tail {
        _assignment: watch::Sender<Vec<TopicPartition>>,
    },
}

/// A consumer of the embedded log.
pub(crate) struct EmbeddedSubscription {
    shared: Arc<Shared>,
    mode: Mode,
    assignment: watch::Receiver<Vec<TopicPartition>>,
    /// Next offset to fetch, per currently owned partition.
    positions: HashMap<TopicPartition, u64>,
    buffer: VecDeque<Delivery>,
    appended: watch::Receiver<u64>,
}

impl EmbeddedSubscription {
    /// Joins `group`; partitions arrive through the assignment channel.
    pub(crate) fn join(shared: Arc<Shared>, group: &str, topics: &[String]) -> Self {
        let (member, assignment) = shared.with_topics(|all| shared.groups.join(group, topics, all));
        tracing::debug!(group, member, "embedded consumer joined");
        Self::new(
            shared,
            Mode::Group {
                group: group.to_owned(),
                member,
            },
            assignment,
            HashMap::new(),
        )
    }

    /// Reads every listed partition from the given offsets, without a group.
    pub(crate) fn tail(shared: Arc<Shared>, start: Vec<(TopicPartition, u64)>) -> Self {
        let (tx, rx) = watch::channel(start.iter().map(|(tp, _)| tp.clone()).collect());
        let positions = start.into_iter().collect();
        Self::new(shared, Mode::Tail { _assignment: tx }, rx, positions)
    }

    fn new(
        shared: Arc<Shared>,
        mode: Mode,
        assignment: watch::Receiver<Vec<TopicPartition>>,
        positions: HashMap<TopicPartition, u64>,
    ) -> Self {
        let appended = shared.appended.clone();
        Self {
            shared,
            mode,
            assignment,
            positions,
            buffer: VecDeque::new(),
            appended,
        }
    }

    /// Applies the latest assignment: new partitions start at the committed
    /// offset (or 0), revoked ones are forgotten with their buffered records.
    async fn sync_assignment(&mut self) -> Result<(), BusError> {
        let Mode::Group { group, .. } = &self.mode else {
            return Ok(());
        };
        let current = self.assignment.borrow().clone();
        let added: Vec<TopicPartition> = current
            .iter()
            .filter(|tp| !self.positions.contains_key(*tp))
            .cloned()
            .collect();
        let mut starts = Vec::with_capacity(added.len());
        for tp in added {
            let start = self.shared.storage.committed_offset(group, &tp).await?;
            starts.push((tp, start.unwrap_or(0)));
        }
        // No await below: a cancelled call leaves the state untouched.
        self.positions.retain(|tp, _| current.contains(tp));
        self.buffer.retain(|d| {
            current
                .iter()
                .any(|(t, p)| *t == d.topic && *p == d.partition)
        });
        self.positions.extend(starts);
        Ok(())
    }

    /// Fetches from every partition with unread records; false if none had any.
    async fn fill(&mut self) -> Result<bool, BusError> {
        let mut ready: Vec<(TopicPartition, u64)> = self
            .positions
            .iter()
            .filter(|(tp, pos)| self.shared.end_of(tp) > **pos)
            .map(|(tp, pos)| (tp.clone(), *pos))
            .collect();
        ready.sort();
        let mut any = false;
        for (tp, from) in ready {
            let records = self.shared.storage.fetch(&tp, from, FETCH_BATCH).await?;
            if let (Some(last), Some(pos)) = (records.last(), self.positions.get_mut(&tp)) {
                *pos = last.offset + 1;
                any = true;
                self.buffer.extend(records);
            }
        }
        Ok(any)
    }
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            self.sync_assignment().await?;
            if let Some(delivery) = self.buffer.pop_front() {
                return Ok(delivery);
            }
            // Mark the current log version seen *before* looking, so an append
            // that lands after the look still wakes us.
            self.appended.borrow_and_update();
            if self.fill().await? {
                continue;
            }
            let closed = |_| BusError::Unavailable("embedded bus is shut down".into());
            tokio::select! {
                changed = self.appended.changed() => changed.map_err(closed)?,
                changed = self.assignment.changed() => changed.map_err(closed)?,
            }
        }
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        let Mode::Group { group, member } = &self.mode else {
            return Ok(());
        };
        let tp = (delivery.topic.clone(), delivery.partition);
        if !self.shared.groups.owns(group, *member, &tp) {
            return Err(BusError::Rebalanced(format!(
                "{}/{} is no longer assigned to this consumer",
                tp.0, tp.1
            )));
        }
        let group = group.clone();
        let next_offset = delivery.offset + 1;
        self.shared
            .write(|reply| WriteOp::Commit {
                group,
                tp,
                next_offset,
                reply,
            })
            .await
    }

    fn assignment(&self) -> watch::Receiver<Vec<(String, u32)>> {
        self.assignment.clone()
    }

    async fn close(self: Box<Self>) -> Result<(), BusError> {
        // Leaving happens in Drop, so a dropped subscription behaves the same.
        Ok(())
    }
}

impl Drop for EmbeddedSubscription {
    fn drop(&mut self) {
        if let Mode::Group { group, member } = &self.mode {
            let shared = &self.shared;
            shared.with_topics(|all| shared.groups.leave(group, *member, all));
            tracing::debug!(group, member, "embedded consumer left");
        }
    }
}
