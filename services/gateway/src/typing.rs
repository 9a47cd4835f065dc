//! Typing indicators: relayed to the members of the conversation who are
//! online right now, and never stored. A client repeats `typing` every few
//! seconds while the user types; each connection keeps a deadline per
//! conversation and, if no repeat or stop arrives before it, tells the
//! others the user stopped (also when the connection closes). Repeats
//! inside the refresh interval are absorbed here, so a chatty client costs
//! the others nothing, and new indicators are rate-limited per connection
//! (a token bucket: [`STARTS_PER_SEC`], bursts of [`START_BURST`]), so a
//! client flapping start/stop cannot flood a conversation: the starts over
//! the limit are dropped, and so are the stops that would follow them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::hub::Hub;
use crate::metrics;
use crate::ports::{Caller, MemberPort, PortError};
use crate::protocol::{ErrorCode, ServerFrame};
use crate::registry::{NodeFrame, Registry};

/// Conversations one connection may be typing in at once.
pub const MAX_ACTIVE: usize = 8;
/// New typing indicators a connection may start per second, sustained.
pub const STARTS_PER_SEC: f64 = 1.0;
/// New typing indicators a connection may start in a burst.
pub const START_BURST: f64 = 3.0;

/// Relays typing indicators for a node's connections; cheap to clone.
#[derive(Clone)]
pub struct TypingRelay {
    members: Arc<dyn MemberPort>,
    registry: Registry,
    hub: Hub,
    ttl: Duration,
}

impl TypingRelay {
    /// A relay for the node with `registry` and `hub`; indicators live `ttl`.
    pub fn new(members: Arc<dyn MemberPort>, registry: Registry, hub: Hub, ttl: Duration) -> Self {
        Self {
            members,
            registry,
            hub,
            ttl,
        }
    }

    /// How long an indicator lasts without a repeat.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Tells the conversation's other online members that `caller` started
    /// or stopped typing. Only members may; the caller's own devices are
    /// not told.
    pub async fn relay(
        &self,
        caller: &Caller,
        conversation_id: &str,
        active: bool,
    ) -> Result<(), PortError> {
        let members = self.members.members(conversation_id).await?;
        if !members.contains(&caller.user_id) {
            return Err(PortError::fatal(
                ErrorCode::Forbidden,
                format!("not a member of {conversation_id}"),
            ));
        }
        let others: Vec<String> = members
            .into_iter()
            .filter(|m| *m != caller.user_id)
            .collect();
        let located = self
            .registry
            .locate(others)
            .await
            .map_err(|e| PortError::unavailable(format!("registry: {e}")))?;
        let frame = ServerFrame::Typing {
            conversation_id: conversation_id.to_owned(),
            user_id: caller.user_id.clone(),
            active,
            ttl_ms: u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX),
        };
        let frame = crate::queue::encode(&frame)
            .ok_or_else(|| PortError::fatal(ErrorCode::Internal, "cannot encode typing"))?;
        for (node, recipients) in located.by_node {
            if node == self.registry.node_id() {
                self.hub.push_ephemeral(&recipients, &frame);
                continue;
            }
            let send = NodeFrame::Ephemeral {
                recipients,
                frame: frame.as_str().to_owned(),
            };
            // At most once by design: a lost indicator is not worth a retry.
            if let Err(err) = self.registry.send(&node, &send).await {
                tracing::debug!(error = %err, "typing indicator lost");
            }
        }
        ::metrics::counter!(metrics::TYPING_RELAYED).increment(1);
        Ok(())
    }
}

/// What a connection should do about a `typing` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingAction {
    /// Tell the others.
    Relay,
    /// Nothing new for the others (a repeat within the refresh interval,
    /// or a stop for a conversation not being typed in).
    Absorb,
    /// Too many conversations at once.
    TooMany,
}

/// One connection's typing state: per conversation, when the others were
/// last told and when the indicator runs out; and the starts allowed.
#[derive(Debug)]
pub struct TypingClock {
    active: HashMap<String, (Instant, Instant)>,
    /// Starts left in the bucket, and when it was last filled.
    starts: (f64, Instant),
}

impl Default for TypingClock {
    fn default() -> Self {
        Self {
            active: HashMap::new(),
            starts: (START_BURST, Instant::now()),
        }
    }
}

impl TypingClock {
    /// Records a `typing` frame at `now` for indicators lasting `ttl`.
    pub fn on_frame(
        &mut self,
        conversation: &str,
        active: bool,
        now: Instant,
        ttl: Duration,
    ) -> TypingAction {
        if !active {
            return match self.active.remove(conversation) {
                Some(_) => TypingAction::Relay,
                None => TypingAction::Absorb,
            };
        }
        if let Some((told, deadline)) = self.active.get_mut(conversation) {
            *deadline = now + ttl;
            // Remind the others before their copy runs out.
            if now.duration_since(*told) >= ttl / 2 {
                *told = now;
                return TypingAction::Relay;
            }
            return TypingAction::Absorb;
        }
        if self.active.len() >= MAX_ACTIVE {
            return TypingAction::TooMany;
        }
        if !self.take_start(now) {
            ::metrics::counter!(metrics::TYPING_THROTTLED).increment(1);
            return TypingAction::Absorb;
        }
        self.active
            .insert(conversation.to_owned(), (now, now + ttl));
        TypingAction::Relay
    }

    /// Takes one start from the bucket, refilled for the time since.
    fn take_start(&mut self, now: Instant) -> bool {
        let (tokens, since) = self.starts;
        let refill = now.saturating_duration_since(since).as_secs_f64() * STARTS_PER_SEC;
        let tokens = (tokens + refill).min(START_BURST);
        if tokens < 1.0 {
            self.starts = (tokens, now);
            return false;
        }
        self.starts = (tokens - 1.0, now);
        true
    }

    /// The next deadline, if the user is typing anywhere.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.active.values().map(|(_, deadline)| *deadline).min()
    }

    /// Conversations whose indicator ran out by `now` (forgotten here).
    pub fn expired(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .active
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(conversation, _)| conversation.clone())
            .collect();
        for conversation in &expired {
            self.active.remove(conversation);
        }
        expired
    }

    /// Every conversation still being typed in (forgotten here): on close.
    pub fn take_all(&mut self) -> Vec<String> {
        self.active
            .drain()
            .map(|(conversation, _)| conversation)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(6);

    #[test]
    fn repeats_are_absorbed_until_half_the_ttl_then_relayed_again() {
        let mut clock = TypingClock::default();
        let t0 = Instant::now();
        assert_eq!(clock.on_frame("c", true, t0, TTL), TypingAction::Relay);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(clock.on_frame("c", true, t1, TTL), TypingAction::Absorb);
        let t2 = t0 + Duration::from_secs(3);
        assert_eq!(clock.on_frame("c", true, t2, TTL), TypingAction::Relay);
        assert_eq!(clock.next_deadline(), Some(t2 + TTL));
    }

    #[test]
    fn a_stop_is_relayed_only_after_a_start() {
        let mut clock = TypingClock::default();
        let now = Instant::now();
        assert_eq!(clock.on_frame("c", false, now, TTL), TypingAction::Absorb);
        clock.on_frame("c", true, now, TTL);
        assert_eq!(clock.on_frame("c", false, now, TTL), TypingAction::Relay);
        assert_eq!(clock.next_deadline(), None);
    }

    #[test]
    fn indicators_run_out_at_their_deadline() {
        let mut clock = TypingClock::default();
        let now = Instant::now();
        clock.on_frame("a", true, now, TTL);
        clock.on_frame("b", true, now + Duration::from_secs(2), TTL);
        assert!(clock.expired(now + Duration::from_secs(5)).is_empty());
        assert_eq!(clock.expired(now + TTL), ["a"]);
        assert_eq!(clock.take_all(), ["b"]);
    }

    #[test]
    fn flapping_start_stop_is_held_to_the_start_rate() {
        let mut clock = TypingClock::default();
        let t0 = Instant::now();
        let mut relayed = 0;
        // 100 start/stop pairs within one second.
        for i in 0..100u64 {
            let at = t0 + Duration::from_millis(i * 10);
            for active in [true, false] {
                if clock.on_frame("c", active, at, TTL) == TypingAction::Relay {
                    relayed += 1;
                }
            }
        }
        // The burst of 3 starts, each with its stop; the bucket refills one
        // start per second, not yet enough within the 990 ms.
        assert_eq!(relayed, 6);
        // After a quiet second, the user may type again.
        let later = t0 + Duration::from_secs(3);
        assert_eq!(clock.on_frame("c", true, later, TTL), TypingAction::Relay);
    }

    #[test]
    fn typing_in_too_many_conversations_at_once_is_refused() {
        let mut clock = TypingClock::default();
        let now = Instant::now();
        for (i, step) in (0..MAX_ACTIVE).zip(0u64..) {
            // Spread out so the start rate never limits.
            let now = now + Duration::from_secs(step);
            assert_eq!(
                clock.on_frame(&format!("c{i}"), true, now, TTL),
                TypingAction::Relay
            );
        }
        assert_eq!(
            clock.on_frame("one-more", true, now, TTL),
            TypingAction::TooMany
        );
    }
}
