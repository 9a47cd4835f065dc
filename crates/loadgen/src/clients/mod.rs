//! The simulated devices, one task per connection. Each task reads its
//! socket all the time (a client that stops reading is a slow consumer the
//! gateway will close), answers commands from the phase driver, keeps the
//! connection alive with `ping`, and reports what it sees as
//! [`Event`](crate::tally::Event)s.

pub mod flooder;
pub mod receiver;
pub mod sender;

use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// What an `error` frame answered, from the request id the client gave it.
pub fn request_kind(error: &Value) -> &'static str {
    match error["id"].as_str() {
        None => "typing/presence",
        Some(id) if id.starts_with('w') => "watch",
        Some(id) if id.starts_with('p') => "ping",
        Some(id) if id.starts_with('h') => "hello",
        Some(_) => "send",
    }
}

/// A ticker for keep-alive pings, first due one heartbeat from now.
pub fn heartbeat(every: Duration) -> Interval {
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker
}

/// The send time written in a message's text: `t=<nanoseconds since the
/// generator started> ...`.
pub fn sent_at_ns(text: &str) -> Option<u64> {
    text.split_whitespace()
        .next()?
        .strip_prefix("t=")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn send_times_are_read_back_from_the_text() {
        assert_eq!(sent_at_ns("t=123456789 b-0-7"), Some(123_456_789));
        assert_eq!(sent_at_ns("t=5"), Some(5));
        assert_eq!(sent_at_ns("hello t=5"), None);
        assert_eq!(sent_at_ns("t=x"), None);
        assert_eq!(sent_at_ns(""), None);
    }

    #[test]
    fn errors_are_attributed_by_request_id() {
        assert_eq!(
            request_kind(&json!({"code": "forbidden"})),
            "typing/presence"
        );
        assert_eq!(request_kind(&json!({"id": "w3"})), "watch");
        assert_eq!(request_kind(&json!({"id": "p1"})), "ping");
        assert_eq!(request_kind(&json!({"id": "b-0-1"})), "send");
    }
}
