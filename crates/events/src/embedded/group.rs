//! Consumer-group membership for the embedded bus.
//!
//! Members live in this process only. Whenever a member joins, leaves (close
//! or drop) or a topic appears, every member of the affected groups gets a new
//! assignment through its `watch` channel; each (topic, partition) goes to
//! exactly one member, balanced by count. Members whose assignment did not
//! change are not notified, so they keep their read positions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use super::TopicPartition;
use super::writer::lock;

/// Identifies one member for its whole life; later joiners get larger ids.
pub(crate) type MemberId = u64;

/// All groups of one embedded bus.
#[derive(Default)]
pub(crate) struct Coordinator {
    groups: Mutex<HashMap<String, BTreeMap<MemberId, Member>>>,
    next_member: AtomicU64,
}

struct Member {
    topics: Vec<String>,
    assignment: watch::Sender<Vec<TopicPartition>>,
}

impl Coordinator {
    /// Adds a member to `group` and rebalances; returns its id and assignment channel.
    pub(crate) fn join(
        &self,
        group: &str,
        topics: &[String],
        partitions: &HashMap<String, u32>,
    ) -> (MemberId, watch::Receiver<Vec<TopicPartition>>) {
        let id = self.next_member.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(Vec::new());
        let mut groups = lock(&self.groups);
        let members = groups.entry(group.to_owned()).or_default();
        members.insert(
            id,
            Member {
                topics: topics.to_vec(),
                assignment: tx,
            },
        );
        rebalance(members, partitions);
        (id, rx)
    }

    /// Removes a member (dropping its channel) and hands its partitions to the others.
    pub(crate) fn leave(&self, group: &str, id: MemberId, partitions: &HashMap<String, u32>) {
        let mut groups = lock(&self.groups);
        if let Some(members) = groups.get_mut(group) {
            members.remove(&id);
            if members.is_empty() {
                groups.remove(group);
            } else {
                rebalance(members, partitions);
            }
        }
    }

    /// Rebalances every group after a topic was created.
    pub(crate) fn topics_changed(&self, partitions: &HashMap<String, u32>) {
        for members in lock(&self.groups).values_mut() {
            rebalance(members, partitions);
        }
    }

    /// Whether `id` currently owns the partition (commits from former owners are refused).
    pub(crate) fn owns(&self, group: &str, id: MemberId, tp: &TopicPartition) -> bool {
        lock(&self.groups)
            .get(group)
            .and_then(|members| members.get(&id))
            .is_some_and(|m| m.assignment.borrow().contains(tp))
    }
}

/// Recomputes the group's assignment and notifies members whose share changed.
fn rebalance(members: &BTreeMap<MemberId, Member>, partitions: &HashMap<String, u32>) {
    let subscriptions: BTreeMap<MemberId, &[String]> = members
        .iter()
        .map(|(id, m)| (*id, m.topics.as_slice()))
        .collect();
    let mut plan = assign(&subscriptions, partitions);
    for (id, member) in members {
        let share = plan.remove(id).unwrap_or_default();
        member.assignment.send_if_modified(|current| {
            if *current == share {
                false
            } else {
                *current = share;
                true
            }
        });
    }
}

/// Gives each partition of each subscribed topic to the eligible member with
/// the fewest partitions so far (ties go to the oldest member). Deterministic.
fn assign(
    subscriptions: &BTreeMap<MemberId, &[String]>,
    partitions: &HashMap<String, u32>,
) -> BTreeMap<MemberId, Vec<TopicPartition>> {
    let mut plan: BTreeMap<MemberId, Vec<TopicPartition>> =
        subscriptions.keys().map(|id| (*id, Vec::new())).collect();
    let mut topics: Vec<&String> = subscriptions.values().flat_map(|t| t.iter()).collect();
    topics.sort();
    topics.dedup();
    for topic in topics {
        let Some(&count) = partitions.get(topic) else {
            continue; // Not created yet: assigned once `ensure_topic` runs.
        };
        for partition in 0..count {
            let owner = subscriptions
                .iter()
                .filter(|(_, t)| t.contains(topic))
                .map(|(id, _)| *id)
                .min_by_key(|id| (plan.get(id).map_or(0, Vec::len), *id));
            if let Some(owner) = owner {
                plan.entry(owner)
                    .or_default()
                    .push((topic.clone(), partition));
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn partitions_are_split_evenly_and_disjointly() {
        let (a, b) = (topics(&["t"]), topics(&["t"]));
        let subs = BTreeMap::from([(1, a.as_slice()), (2, b.as_slice())]);
        let plan = assign(&subs, &HashMap::from([("t".to_owned(), 4)]));
        assert_eq!(plan[&1], vec![("t".to_owned(), 0), ("t".to_owned(), 2)]);
        assert_eq!(plan[&2], vec![("t".to_owned(), 1), ("t".to_owned(), 3)]);
    }

    #[test]
    fn members_only_get_their_topics_and_missing_topics_wait() {
        let (a, b) = (topics(&["x", "y", "later"]), topics(&["y"]));
        let subs = BTreeMap::from([(1, a.as_slice()), (2, b.as_slice())]);
        let parts = HashMap::from([("x".to_owned(), 2), ("y".to_owned(), 2)]);
        let plan = assign(&subs, &parts);
        assert!(plan[&2].iter().all(|(t, _)| t == "y"));
        let total: usize = plan.values().map(Vec::len).sum();
        assert_eq!(total, 4);
    }

    #[test]
    fn leaving_hands_partitions_over_and_unchanged_members_are_not_notified() {
        let coordinator = Coordinator::default();
        let parts = HashMap::from([("t".to_owned(), 2)]);
        let (id1, mut rx1) = coordinator.join("g", &topics(&["t"]), &parts);
        assert_eq!(rx1.borrow_and_update().len(), 2);
        let (id2, rx2) = coordinator.join("g", &topics(&["t"]), &parts);
        assert!(rx1.has_changed().unwrap_or(false));
        assert_eq!(rx1.borrow_and_update().len(), 1);
        assert_eq!(rx2.borrow().len(), 1);
        assert!(coordinator.owns("g", id2, &("t".to_owned(), 1)));
        coordinator.leave("g", id2, &parts);
        assert_eq!(rx1.borrow_and_update().len(), 2);
        assert!(rx2.has_changed().is_err(), "a leaver's channel is closed");
        coordinator.topics_changed(&parts);
        assert!(
            !rx1.has_changed().unwrap_or(true),
            "no-op rebalance is silent"
        );
        assert!(coordinator.owns("g", id1, &("t".to_owned(), 1)));
    }
}
