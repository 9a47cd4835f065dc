//! Which lane a write waits in: system notices are urgent; other writes are
//! bulk when their conversation has more members than the threshold, else
//! normal. Member counts are cached briefly (bounded), and a failing
//! membership lookup falls back to the normal lane: lane choice is an
//! optimisation and must never fail a write that was already authorized.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::{Engine, WriteOp};
use crate::lanes::Lane;
use crate::membership::Membership;
use crate::settings::LaneConfig;

/// Most conversations whose member count is remembered.
const MAX_CACHED_COUNTS: usize = 10_000;

/// Recently seen member counts per conversation.
pub(super) struct MemberCounts {
    counts: Mutex<HashMap<String, (usize, Instant)>>,
    ttl: Duration,
}

impl MemberCounts {
    pub(super) fn new(config: &LaneConfig) -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
            ttl: Duration::from_secs(config.member_count_ttl_secs),
        }
    }

    fn get(&self, conversation_id: &str) -> Option<usize> {
        let counts = self.counts.lock();
        let (count, at) = counts.get(conversation_id)?;
        (at.elapsed() < self.ttl).then_some(*count)
    }

    fn put(&self, conversation_id: &str, count: usize) {
        let mut counts = self.counts.lock();
        if counts.len() >= MAX_CACHED_COUNTS {
            let ttl = self.ttl;
            counts.retain(|_, (_, at)| at.elapsed() < ttl);
            if counts.len() >= MAX_CACHED_COUNTS {
                counts.clear();
            }
        }
        counts.insert(conversation_id.to_owned(), (count, Instant::now()));
    }
}

impl Engine {
    /// The lane `op` is queued in.
    pub(super) async fn lane_for(&self, op: &WriteOp) -> Lane {
        if op.caller().is_none() {
            return Lane::Urgent;
        }
        let conversation_id = op.conversation_id();
        let counts = &self.inner.member_counts;
        let count = match counts.get(conversation_id) {
            Some(count) => count,
            None => match self.inner.membership.members(conversation_id).await {
                Ok(members) => {
                    counts.put(conversation_id, members.len());
                    members.len()
                }
                Err(err) => {
                    tracing::debug!(conversation_id, error = %err, "member count unknown; normal lane");
                    return Lane::Normal;
                }
            },
        };
        if count > self.inner.lane_config.bulk_member_threshold {
            Lane::Bulk
        } else {
            Lane::Normal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn counts_expire_after_their_ttl() {
        let config = LaneConfig {
            member_count_ttl_secs: 10,
            ..LaneConfig::default()
        };
        let counts = MemberCounts::new(&config);
        counts.put("c1", 300);
        assert_eq!(counts.get("c1"), Some(300));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(counts.get("c1"), None);
    }
}
