//! A flooding device: on command, hammers the ephemeral path — typing on,
//! away, typing off, online, over and over at a fixed rate — and once a
//! second watches every member of the group. Errors the server answers are
//! counted, never fatal.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{heartbeat, request_kind};
use crate::conn::{Incoming, Reader, Writer};
use crate::tally::{Event, Role};

/// How often a flooding device re-sends its `watch`.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Commands from the phase driver.
#[derive(Debug)]
pub enum Command {
    /// Start flooding: one typing/presence frame every `period`, and a
    /// `watch` of `members` every second.
    Start {
        /// Time between two typing/presence frames.
        period: Duration,
        /// Every member of the group.
        members: Vec<String>,
    },
    /// Stop flooding and say how many frames were sent.
    Stop(oneshot::Sender<Sent>),
}

/// What one flooder sent while flooding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sent {
    /// Typing and presence frames.
    pub ephemeral: u64,
    /// `watch` requests.
    pub watches: u64,
}

/// The connection and identity of one flooder.
pub struct Flooder {
    /// Which flooder.
    pub index: usize,
    /// The group it types in.
    pub group: String,
}

/// What is flooded and how much of it went out.
struct Flood {
    members: Vec<String>,
    sent: Sent,
}

impl Flooder {
    /// Runs the flooder on `conn` until its command channel closes or its
    /// socket does.
    pub fn spawn(
        self,
        conn: (Writer, Reader, Duration),
        events: mpsc::UnboundedSender<Event>,
        commands: mpsc::Receiver<Command>,
    ) -> JoinHandle<()> {
        tokio::spawn(self.run(conn, events, commands))
    }

    async fn run(
        self,
        (mut writer, mut reader, every): (Writer, Reader, Duration),
        events: mpsc::UnboundedSender<Event>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        let mut ping = heartbeat(every);
        let mut requests = 0u64;
        let mut flood: Option<Flood> = None;
        // While flooding: the typing/presence ticker and the watch ticker.
        let mut tickers: Option<(Interval, Interval)> = None;
        loop {
            let (frames, watches) = match tickers.as_mut() {
                Some((frames, watches)) => (Some(frames), Some(watches)),
                None => (None, None),
            };
            let outgoing = tokio::select! {
                incoming = reader.next() => match incoming {
                    Incoming::Frame(frame) => {
                        if frame["type"] == "error" {
                            let _ = events.send(Event::Error {
                                role: Role::Flooder,
                                request: request_kind(&frame),
                                code: frame["code"].as_str().unwrap_or("?").to_owned(),
                            });
                        }
                        continue;
                    }
                    Incoming::Closed(code, reason) => {
                        let _ = events.send(self.closed(format!("{code} {reason}")));
                        break;
                    }
                },
                command = commands.recv() => match command {
                    Some(Command::Start { period, members }) => {
                        flood = Some(Flood { members, sent: Sent::default() });
                        tickers = Some(start_tickers(period));
                        continue;
                    }
                    Some(Command::Stop(reply)) => {
                        tickers = None;
                        let sent = flood.take().map(|f| f.sent).unwrap_or_default();
                        let _ = reply.send(sent);
                        continue;
                    }
                    None => {
                        writer.close().await;
                        break;
                    }
                },
                _ = tick(frames) => {
                    match flood.as_mut() {
                        Some(f) => f.next_frame(&self.group),
                        None => continue,
                    }
                }
                _ = tick(watches) => {
                    requests += 1;
                    match flood.as_mut() {
                        Some(f) => f.watch(requests, &self.group),
                        None => continue,
                    }
                }
                _ = ping.tick() => {
                    requests += 1;
                    json!({"type": "ping", "id": format!("p{requests}")})
                }
            };
            if let Err(err) = writer.send(&outgoing).await {
                let _ = events.send(self.closed(err.to_string()));
                break;
            }
        }
    }

    fn closed(&self, why: String) -> Event {
        Event::Closed {
            role: Role::Flooder,
            index: self.index,
            why,
        }
    }
}

/// Waits for the ticker's next tick (forever without one).
async fn tick(ticker: Option<&mut Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The frame ticker (every `period`) and the watch ticker (every second).
fn start_tickers(period: Duration) -> (Interval, Interval) {
    let mut frames = tokio::time::interval(period);
    // Behind schedule (a busy machine) means fewer frames, reported as the
    // achieved rate, not a burst to catch up.
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut watches = tokio::time::interval_at(Instant::now(), WATCH_EVERY);
    watches.set_missed_tick_behavior(MissedTickBehavior::Skip);
    (frames, watches)
}

impl Flood {
    /// The next frame of the cycle typing on, away, typing off, online.
    fn next_frame(&mut self, group: &str) -> Value {
        let step = self.sent.ephemeral % 4;
        self.sent.ephemeral += 1;
        match step {
            0 => json!({"type": "typing", "conversation_id": group, "active": true}),
            1 => json!({"type": "presence", "status": "away"}),
            2 => json!({"type": "typing", "conversation_id": group, "active": false}),
            _ => json!({"type": "presence", "status": "online"}),
        }
    }

    fn watch(&mut self, request: u64, group: &str) -> Value {
        self.sent.watches += 1;
        json!({"type": "watch", "id": format!("w{request}"),
            "user_ids": self.members, "conversation_id": group})
    }
}
