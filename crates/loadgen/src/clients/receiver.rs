//! A receiving device: times every message of the load it gets live,
//! checks the group's `seq`s arrive gapless and in order, acknowledges each
//! message and marks every [`READ_EVERY`]th read (as a client does, so the
//! load includes receipts), and on command watches the group's members,
//! counting the receipt, typing and presence frames that follow.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{heartbeat, request_kind, sent_at_ns};
use crate::conn::{Incoming, Reader, Writer};
use crate::tally::{Ephemeral, Event, Role};

/// A receiver marks the group read at every this-many-th message.
pub const READ_EVERY: u64 = 10;

/// Commands from the phase driver.
#[derive(Debug)]
pub enum Command {
    /// Follow these users' presence (and the group's members).
    Watch(Vec<String>),
}

/// The connection and identity of one receiver.
pub struct Receiver {
    /// Which receiver (deliveries are counted per receiver).
    pub index: usize,
    /// The group it follows.
    pub group: String,
    /// The generator's clock origin (message texts carry time since it).
    pub origin: Instant,
}

impl Receiver {
    /// Runs the receiver on `conn` until its command channel closes or its
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
        let mut last_seq = 0u64;
        loop {
            let outgoing = tokio::select! {
                incoming = reader.next() => match incoming {
                    Incoming::Frame(frame) => {
                        let received = Instant::now();
                        let before = last_seq;
                        for event in self.observe(&frame, received, &mut last_seq) {
                            let _ = events.send(event);
                        }
                        if last_seq == before {
                            continue;
                        }
                        if last_seq.is_multiple_of(READ_EVERY) {
                            requests += 1;
                            json!({"type": "read", "id": format!("r{requests}"),
                                "conversation_id": self.group, "seq": last_seq})
                        } else {
                            json!({"type": "ack", "conversation_id": self.group, "seq": last_seq})
                        }
                    }
                    Incoming::Closed(code, reason) => {
                        let _ = events.send(Event::Closed {
                            role: Role::Receiver,
                            index: self.index,
                            why: format!("{code} {reason}"),
                        });
                        break;
                    }
                },
                command = commands.recv() => match command {
                    Some(Command::Watch(user_ids)) => {
                        requests += 1;
                        json!({"type": "watch", "id": format!("w{requests}"),
                            "user_ids": user_ids, "conversation_id": self.group})
                    }
                    None => {
                        writer.close().await;
                        break;
                    }
                },
                _ = ping.tick() => {
                    requests += 1;
                    json!({"type": "ping", "id": format!("p{requests}")})
                }
            };
            if let Err(err) = writer.send(&outgoing).await {
                let _ = events.send(Event::Closed {
                    role: Role::Receiver,
                    index: self.index,
                    why: err.to_string(),
                });
                break;
            }
        }
    }

    /// What one frame means for the tally.
    fn observe(&self, frame: &Value, received: Instant, last_seq: &mut u64) -> Vec<Event> {
        let mut events = Vec::new();
        match frame["type"].as_str() {
            Some("message") => {
                let message = &frame["message"];
                if message["conversation_id"] != self.group.as_str() {
                    return events;
                }
                if let Some(seq) = message["seq"].as_u64() {
                    if seq != *last_seq + 1 {
                        events.push(Event::OutOfOrder {
                            receiver: self.index,
                            expected: *last_seq + 1,
                            got: seq,
                        });
                    }
                    *last_seq = (*last_seq).max(seq);
                }
                let sent = message["text"].as_str().and_then(sent_at_ns);
                if let (Some(sent), Some(id)) = (sent, message["client_msg_id"].as_str()) {
                    let now = received.duration_since(self.origin).as_nanos();
                    let latency = u64::try_from(now).unwrap_or(u64::MAX).saturating_sub(sent);
                    events.push(Event::Delivered {
                        receiver: self.index,
                        client_msg_id: id.to_owned(),
                        latency_ns: latency,
                    });
                }
            }
            Some("typing") => events.push(Event::Ephemeral(Ephemeral::Typing)),
            Some("receipt") => events.push(Event::Ephemeral(Ephemeral::Receipt)),
            Some("presence") => {
                let status = frame["status"].as_str().unwrap_or("?").to_owned();
                events.push(Event::Ephemeral(Ephemeral::Presence(status)));
            }
            Some("watching") => {
                let users = frame["users"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                let statuses = users
                    .iter()
                    .map(|user| user["status"].as_str().unwrap_or("?").to_owned())
                    .collect();
                events.push(Event::Ephemeral(Ephemeral::Watching(statuses)));
            }
            Some("error") => events.push(Event::Error {
                role: Role::Receiver,
                request: request_kind(frame),
                code: frame["code"].as_str().unwrap_or("?").to_owned(),
            }),
            _ => {}
        }
        events
    }
}
