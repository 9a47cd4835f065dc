//! A small circuit breaker for calls to another service.
//!
//! Written by hand rather than taken from a crate: it is about a hundred
//! lines, the workspace has no breaker dependency to share, and the router
//! needs exactly this shape — consecutive-failure trip, a fixed open period,
//! one probe at a time when half-open, and a permit that counts a dropped
//! (cancelled) call as a failure so a half-open breaker can never wedge.
//! Time is `tokio::time::Instant`, so tests drive it with a paused clock.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `failures` consecutive ones failed so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls are refused until `until`.
    Open {
        /// When one probe may go through.
        until: Instant,
    },
    /// One probe is (or may be) in flight; its outcome decides.
    HalfOpen {
        /// Whether the probe has been admitted.
        probing: bool,
    },
}

impl BreakerState {
    /// The value of the state gauge: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed { .. } => 0.0,
            Self::Open { .. } => 1.0,
            Self::HalfOpen { .. } => 2.0,
        }
    }
}

/// Trips after `threshold` consecutive failures and stays open for `open_for`.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<BreakerState>,
    threshold: u32,
    open_for: Duration,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
            threshold: threshold.max(1),
            open_for,
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        *self.state.lock()
    }

    /// A permit for one call, or how long until one may be tried.
    pub fn admit(&self) -> Result<Permit<'_>, Duration> {
        let mut state = self.state.lock();
        match *state {
            BreakerState::Closed { .. } => {}
            BreakerState::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(until - now);
                }
                *state = BreakerState::HalfOpen { probing: true };
            }
            BreakerState::HalfOpen { probing: false } => {
                *state = BreakerState::HalfOpen { probing: true };
            }
            BreakerState::HalfOpen { probing: true } => return Err(self.open_for),
        }
        Ok(Permit {
            breaker: self,
            done: false,
        })
    }

    fn record(&self, success: bool) {
        let mut state = self.state.lock();
        *state = match (*state, success) {
            (_, true) => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, false) if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            // Open already: a late failure of a call admitted before the trip.
            (BreakerState::Open { until }, false) => BreakerState::Open { until },
            (_, false) => BreakerState::Open {
                until: Instant::now() + self.open_for,
            },
        };
        metrics::gauge!(crate::metrics::BREAKER_STATE).set(state.gauge());
    }
}

/// The right to make one call; report its outcome, or drop it to count a failure.
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    done: bool,
}

impl Permit<'_> {
    /// The call worked (or failed in a way that says nothing about the dependency's health).
    pub fn succeed(mut self) {
        self.done = true;
        self.breaker.record(true);
    }

    /// The call failed or timed out.
    pub fn fail(mut self) {
        self.done = true;
        self.breaker.record(false);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.record(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn trips_after_threshold_then_probes_once() {
        let breaker = Breaker::new(3, Duration::from_secs(5));
        for _ in 0..2 {
            breaker.admit().unwrap().fail();
        }
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 2 });
        breaker.admit().unwrap().fail();
        let wait = breaker.admit().unwrap_err();
        assert_eq!(wait, Duration::from_secs(5));

        tokio::time::advance(Duration::from_secs(5)).await;
        let probe = breaker.admit().unwrap();
        assert!(breaker.admit().is_err(), "a second call while probing");
        probe.fail();
        assert!(matches!(breaker.state(), BreakerState::Open { .. }));

        tokio::time::advance(Duration::from_secs(5)).await;
        breaker.admit().unwrap().succeed();
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_permit_counts_as_a_failure_and_success_resets() {
        let breaker = Breaker::new(2, Duration::from_secs(1));
        breaker.admit().unwrap().fail();
        breaker.admit().unwrap().succeed();
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
        drop(breaker.admit().unwrap());
        drop(breaker.admit().unwrap());
        assert!(breaker.admit().is_err());
    }
}
