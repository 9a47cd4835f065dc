//! Hybrid logical clocks: timestamps that follow wall time but never go
//! backwards and order every event of the fleet totally, even when node
//! clocks disagree (Kulkarni et al., "Logical Physical Clocks", 2014).

use serde::{Deserialize, Serialize};

/// One HLC timestamp; the order is (wall ms, counter, node id), total.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Wall-clock milliseconds (the largest seen, not necessarily local).
    pub wall_ms: i64,
    /// Orders events within the same `wall_ms`.
    pub counter: u32,
    /// The node that made the event: the final tie-break.
    pub node: String,
}

/// A node's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    node: String,
    last: Stamp,
}

impl Clock {
    /// A clock for node `node`, starting before any event.
    pub fn new(node: impl Into<String>) -> Self {
        let node = node.into();
        Self {
            last: Stamp {
                wall_ms: i64::MIN,
                counter: 0,
                node: node.clone(),
            },
            node,
        }
    }

    /// A stamp for a local event at wall time `now_ms`, after every stamp
    /// this clock has made or seen.
    pub fn tick(&mut self, now_ms: i64) -> Stamp {
        let (wall_ms, counter) = if now_ms > self.last.wall_ms {
            (now_ms, 0)
        } else {
            (self.last.wall_ms, self.last.counter.saturating_add(1))
        };
        self.last = Stamp {
            wall_ms,
            counter,
            node: self.node.clone(),
        };
        self.last.clone()
    }

    /// Takes a remote stamp into account, so later local stamps order after it.
    pub fn observe(&mut self, remote: &Stamp) {
        if (remote.wall_ms, remote.counter) > (self.last.wall_ms, self.last.counter) {
            self.last = Stamp {
                wall_ms: remote.wall_ms,
                counter: remote.counter,
                node: self.node.clone(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_increase_even_when_the_wall_clock_goes_back() {
        let mut clock = Clock::new("a");
        let first = clock.tick(1000);
        let second = clock.tick(900);
        let third = clock.tick(900);
        assert!(first < second && second < third);
        assert_eq!((second.wall_ms, second.counter), (1000, 1));
    }

    #[test]
    fn observing_a_later_stamp_moves_the_clock_past_it() {
        let (mut a, mut b) = (Clock::new("a"), Clock::new("b"));
        let remote = b.tick(5000);
        a.observe(&remote);
        let local = a.tick(1000);
        assert!(local > remote, "{local:?} must order after {remote:?}");
    }
}
