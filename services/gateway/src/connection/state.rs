//! What one authenticated connection shares with its node: its queues and
//! close reason, its delivery inbox, its session for revocation checks, and
//! the deadlines the node's clock watches for it ([`crate::clock`]) — the
//! idle timeout, token expiry with its refresh window, and presence going
//! away. The connection itself holds no timer: a frame only records the
//! second it arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::Closer;
use crate::clock::{Clock, Timed, TimerSlot};
use crate::delivery::Inbox;
use crate::metrics;
use crate::ports::{Caller, DeviceSession};
use crate::protocol::{ServerFrame, close};
use crate::queue::Outbound;

/// One live session on this node.
pub struct Conn {
    /// Who, from the token.
    pub caller: Caller,
    /// The connection's outbound queues.
    pub out: Outbound,
    /// Closes the connection.
    pub closer: Closer,
    /// Messages and receipts on their way to the delivery worker.
    pub inbox: Inbox,
    clock: Clock,
    slot: TimerSlot,
    /// The second the client was last heard from.
    heard_at: AtomicU64,
    idle_secs: u64,
    refresh_window: u64,
    away_after: u64,
    deadlines: Mutex<Deadlines>,
    /// This device's presence; dropping it reports the device offline.
    device: Box<dyn DeviceSession>,
}

/// The token and presence clocks of a connection.
struct Deadlines {
    /// `iat` of the current token (a user's revocation cutoff compares it).
    issued_at: i64,
    /// The second the current token expires.
    expires_at: u64,
    /// Once it expired: the end of the window to `refresh` in.
    refresh_until: Option<u64>,
    /// The second of the user's last activity (away after `away_after`).
    used_at: u64,
    /// Whether the device shows as away.
    away: bool,
}

/// How long things last, from the settings.
pub struct Durations {
    /// Silence before the idle close.
    pub idle_secs: u64,
    /// The window to refresh an expired token in.
    pub refresh_window: u64,
    /// Inactivity before the device shows as away.
    pub away_after: u64,
}

impl Conn {
    /// A connection of `caller` whose token was issued at `issued_at` and
    /// expires at `expires_at` (Unix seconds).
    pub fn new(
        caller: Caller,
        (issued_at, expires_at): (i64, i64),
        (out, closer, inbox): (Outbound, Closer, Inbox),
        (clock, durations): (Clock, Durations),
        device: Box<dyn DeviceSession>,
    ) -> Self {
        let now = clock.now();
        Self {
            caller,
            out,
            closer,
            inbox,
            slot: TimerSlot::default(),
            heard_at: AtomicU64::new(now),
            idle_secs: durations.idle_secs.max(1),
            refresh_window: durations.refresh_window,
            away_after: durations.away_after.max(1),
            deadlines: Mutex::new(Deadlines {
                issued_at,
                expires_at: unix_to_clock(&clock, expires_at),
                refresh_until: None,
                used_at: now,
                away: false,
            }),
            device,
            clock,
        }
    }

    /// Puts the connection on the node's clock.
    pub fn watch(self: &Arc<Self>) {
        let timed: Arc<dyn Timed> = self.clone();
        self.clock.schedule(&timed, self.clock.now() + 1);
    }

    /// The client sent a frame (any frame keeps the connection open).
    pub fn heard(&self) {
        self.heard_at.store(self.clock.now(), Ordering::Relaxed);
    }

    /// The user did something: the device is in use (online) again.
    pub fn touch(&self) {
        let mut deadlines = self.deadlines.lock();
        deadlines.used_at = self.clock.now();
        if deadlines.away {
            deadlines.away = false;
            self.device.set_away(false);
        }
        self.device.touch();
    }

    /// The client says it is idle or in the background.
    pub fn set_away(&self) {
        let mut deadlines = self.deadlines.lock();
        if !deadlines.away {
            deadlines.away = true;
            self.device.set_away(true);
        }
    }

    /// A new token of the same session: its expiry replaces the old one's.
    pub fn refreshed(self: &Arc<Self>, issued_at: i64, expires_at: i64) {
        let at = unix_to_clock(&self.clock, expires_at);
        {
            let mut deadlines = self.deadlines.lock();
            deadlines.issued_at = issued_at;
            deadlines.expires_at = at;
            deadlines.refresh_until = None;
        }
        let timed: Arc<dyn Timed> = self.clone();
        self.clock.schedule(&timed, at);
    }

    /// `iat` of the session's current token.
    pub fn issued_at(&self) -> i64 {
        self.deadlines.lock().issued_at
    }
}

/// The clock's second of a Unix time (now at the latest).
fn unix_to_clock(clock: &Clock, unix_secs: i64) -> u64 {
    let left = unix_secs - chatflow_runtime::clock::now_secs();
    clock.now() + u64::try_from(left).unwrap_or(0)
}

impl Timed for Conn {
    fn slot(&self) -> &TimerSlot {
        &self.slot
    }

    fn on_due(&self, now: u64) -> Option<u64> {
        if self.closer.token().is_cancelled() {
            return None;
        }
        let idle_at = self.heard_at.load(Ordering::Relaxed) + self.idle_secs;
        if now >= idle_at {
            self.closer.close(close::IDLE, "idle timeout");
            return None;
        }
        let mut next = idle_at;
        let mut deadlines = self.deadlines.lock();
        match deadlines.refresh_until {
            Some(until) if now >= until => {
                metrics::auth_failure("expired");
                self.closer
                    .close(close::UNAUTHENTICATED, "access token expired");
                return None;
            }
            Some(until) => next = next.min(until),
            None if now >= deadlines.expires_at => {
                let until = now + self.refresh_window;
                deadlines.refresh_until = Some(until);
                self.out.push_frame(&ServerFrame::TokenExpiring {
                    close_in_secs: self.refresh_window,
                });
                next = next.min(until);
            }
            None => next = next.min(deadlines.expires_at),
        }
        if !deadlines.away {
            let away_at = deadlines.used_at + self.away_after;
            if now >= away_at {
                deadlines.away = true;
                self.device.set_away(true);
            } else {
                next = next.min(away_at);
            }
        }
        Some(next)
    }
}

/// Closes a connection that has not said `hello` in time.
pub struct HelloTimer {
    slot: TimerSlot,
    closer: Closer,
}

impl HelloTimer {
    /// Puts a hello deadline for `closer` on `clock`; dropping the returned
    /// handle (once `hello` came) disarms it.
    pub fn arm(clock: &Clock, closer: Closer, wait: std::time::Duration) -> Arc<dyn Timed> {
        let timer: Arc<dyn Timed> = Arc::new(Self {
            slot: TimerSlot::default(),
            closer,
        });
        clock.schedule(&timer, clock.after(wait));
        timer
    }
}

impl Timed for HelloTimer {
    fn slot(&self) -> &TimerSlot {
        &self.slot
    }

    fn on_due(&self, _now: u64) -> Option<u64> {
        self.closer.close(close::PROTOCOL_ERROR, "no hello in time");
        None
    }
}
