//! A sending device: on command, sends text messages to the group on a
//! fixed schedule, each text starting with its send time, and measures how
//! long each ack takes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{heartbeat, request_kind};
use crate::conn::{Incoming, Reader, Writer};
use crate::tally::{Event, Role};

/// How long a sender waits for its last acks after its last send.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// One phase's sends for one sender.
pub struct Job {
    /// The phase tag that starts every `client_msg_id`.
    pub tag: &'static str,
    /// When to send message `n` (`client_msg_id` `<tag>-<sender>-<n>`).
    pub schedule: VecDeque<(u64, Instant)>,
    /// Where the report goes once every send is answered (or given up on).
    pub reply: oneshot::Sender<Report>,
}

/// What one sender did in one phase.
#[derive(Debug, Default)]
pub struct Report {
    /// Send frames written.
    pub sent: u64,
    /// `client_msg_id`s acknowledged.
    pub acked: Vec<String>,
    /// Send to ack, in nanoseconds, per ack.
    pub ack_ns: Vec<u64>,
    /// Sends answered with an error, by code.
    pub errors: BTreeMap<String, u64>,
    /// Sends with no answer within [`ACK_WAIT`] (or before the socket closed).
    pub unanswered: u64,
}

/// A job in progress.
struct Running {
    job: Job,
    /// Request id (= `client_msg_id`) → when it was sent.
    pending: HashMap<String, Instant>,
    report: Report,
}

/// The connection and identity of one sender.
pub struct Sender {
    /// Which sender (part of every `client_msg_id`).
    pub index: usize,
    /// The group it writes to.
    pub group: String,
    /// The generator's clock origin (message texts carry time since it).
    pub origin: Instant,
}

impl Sender {
    /// Runs the sender on `conn` until its command channel closes or its
    /// socket does.
    pub fn spawn(
        self,
        conn: (Writer, Reader, Duration),
        events: mpsc::UnboundedSender<Event>,
        jobs: mpsc::Receiver<Job>,
    ) -> JoinHandle<()> {
        tokio::spawn(self.run(conn, events, jobs))
    }

    async fn run(
        self,
        (mut writer, mut reader, every): (Writer, Reader, Duration),
        events: mpsc::UnboundedSender<Event>,
        mut jobs: mpsc::Receiver<Job>,
    ) {
        let mut ping = heartbeat(every);
        let mut pings = 0u64;
        let mut running: Option<Running> = None;
        let closed = |why: String| Event::Closed {
            role: Role::Sender,
            index: self.index,
            why,
        };
        loop {
            // Next send while the schedule lasts, then the ack deadline.
            let wake = running.as_ref().map(|r| match r.job.schedule.front() {
                Some((_, at)) => *at,
                None => r.deadline(),
            });
            tokio::select! {
                incoming = reader.next() => match incoming {
                    Incoming::Frame(frame) => {
                        let answered = running.as_mut().is_some_and(|r| r.answer(&frame));
                        if !answered && frame["type"] == "error" {
                            let _ = events.send(error(&frame));
                        }
                    }
                    Incoming::Closed(code, reason) => {
                        let _ = events.send(closed(format!("{code} {reason}")));
                        break;
                    }
                },
                job = jobs.recv() => match job {
                    Some(job) => running = Some(Running::new(job)),
                    None => {
                        writer.close().await;
                        break;
                    }
                },
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    if let Some(r) = running.as_mut() {
                        if let Some((n, _)) = r.job.schedule.pop_front() {
                            let frame = r.message(self.index, n, &self.group, self.origin);
                            if let Err(err) = writer.send(&frame).await {
                                let _ = events.send(closed(err.to_string()));
                                break;
                            }
                        } else {
                            // Deadline: whatever is still pending is unanswered.
                            r.report.unanswered = r.pending.len() as u64;
                            r.pending.clear();
                        }
                    }
                }
                _ = ping.tick() => {
                    pings += 1;
                    if writer.send(&json!({"type": "ping", "id": format!("p{pings}")})).await.is_err() {
                        let _ = events.send(closed("ping failed".to_owned()));
                        break;
                    }
                }
            }
            if running.as_ref().is_some_and(Running::done)
                && let Some(r) = running.take()
            {
                let _ = r.job.reply.send(r.report);
            }
        }
        // The socket is gone: report what was left unanswered.
        if let Some(mut r) = running.take() {
            r.report.unanswered = (r.pending.len() + r.job.schedule.len()) as u64;
            let _ = r.job.reply.send(r.report);
        }
    }
}

impl Running {
    fn new(job: Job) -> Self {
        Self {
            job,
            pending: HashMap::new(),
            report: Report::default(),
        }
    }

    /// The send frame of message `n`, recorded as pending.
    fn message(&mut self, sender: usize, n: u64, group: &str, origin: Instant) -> Value {
        let id = format!("{}-{sender}-{n}", self.job.tag);
        let now = Instant::now();
        let sent_ns = now.duration_since(origin).as_nanos();
        let frame = json!({
            "type": "send", "id": id, "conversation_id": group, "client_msg_id": id,
            "text": format!("t={sent_ns} {id}"),
        });
        self.pending.insert(id, now);
        self.report.sent += 1;
        frame
    }

    /// Matches an ack or error to its pending send; false when it is not
    /// the answer to one.
    fn answer(&mut self, frame: &Value) -> bool {
        let Some(id) = frame["id"].as_str() else {
            return false;
        };
        match frame["type"].as_str() {
            Some("ack") => {
                let Some(sent) = self.pending.remove(id) else {
                    return false;
                };
                let ns = Instant::now().duration_since(sent).as_nanos();
                self.report
                    .ack_ns
                    .push(u64::try_from(ns).unwrap_or(u64::MAX));
                self.report.acked.push(id.to_owned());
                true
            }
            Some("error") if self.pending.remove(id).is_some() => {
                let code = frame["code"].as_str().unwrap_or("?").to_owned();
                *self.report.errors.entry(code).or_default() += 1;
                true
            }
            _ => false,
        }
    }

    /// When the last pending sends are given up on.
    fn deadline(&self) -> Instant {
        let last = self.pending.values().max().copied();
        last.unwrap_or_else(Instant::now) + ACK_WAIT
    }

    fn done(&self) -> bool {
        self.job.schedule.is_empty() && self.pending.is_empty()
    }
}

/// An unsolicited error frame as an event.
fn error(frame: &Value) -> Event {
    Event::Error {
        role: Role::Sender,
        request: request_kind(frame),
        code: frame["code"].as_str().unwrap_or("?").to_owned(),
    }
}
