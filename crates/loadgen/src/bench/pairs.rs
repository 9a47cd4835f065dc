//! The open-loop 1:1 pairs scenario: `pairs` senders each write to one
//! receiver (a direct conversation), together at a fixed total rate, for a
//! warm-up and a measured window, then a drain that ends when everything
//! sent has arrived. Receivers acknowledge every message, as clients do.
//! Rates of a sweep run one after another on the same connections.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::link::{Inbound, Link};
use super::procstat;
use super::schedule::Schedule;
use super::step::{Arrival, Cost, StepReport, StepTally};
use super::tag::{self, Tag};
use super::target::{PairDials, Target};

/// Time between handing out a step's schedule and its first due send.
const LEAD: Duration = Duration::from_millis(500);
/// Connections opened at once.
const CONNECT_CONCURRENCY: usize = 64;

/// The shape of the pairs load.
#[derive(Debug, Clone)]
pub struct Load {
    /// Sender/receiver pairs.
    pub pairs: usize,
    /// Offered rates, one step each.
    pub rates: Vec<f64>,
    /// Unmeasured sending at the start of each step.
    pub warmup: Duration,
    /// Measured sending.
    pub window: Duration,
    /// The longest wait for stragglers after the last send.
    pub drain: Duration,
    /// Message text size.
    pub body_bytes: usize,
}

/// One step's sends for one sender.
struct Job {
    step: u32,
    schedule: Schedule,
    start: Instant,
    /// The number of messages written, when the schedule is done.
    done: oneshot::Sender<u64>,
}

/// What client tasks report besides arrivals.
#[derive(Debug)]
enum Note {
    SendError(String),
    Closed(String),
}

/// Connects every pair of `target` and runs each rate of `load`.
pub async fn run(target: &mut Target, load: &Load, origin: Instant) -> Result<Vec<StepReport>> {
    let dials = target
        .pairs(load.pairs)
        .await
        .context("creating the pairs")?;
    let flavor = target.flavor();
    let links = connect_all(flavor, &dials).await?;
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let mut jobs = Vec::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    for (pair, ((sender, receiver), dials)) in links.into_iter().zip(&dials).enumerate() {
        let (job_tx, job_rx) = mpsc::channel(2);
        jobs.push(job_tx);
        let s = SenderTask {
            pair,
            address: dials.address.clone(),
            origin,
            body_bytes: load.body_bytes,
        };
        tasks.push(tokio::spawn(s.run(sender, job_rx, notes_tx.clone())));
        let r = ReceiverTask {
            arrivals: arrivals_tx.clone(),
            notes: notes_tx.clone(),
        };
        tasks.push(tokio::spawn(r.run(receiver, stop.clone())));
    }
    let mut reports = Vec::new();
    for (step, &rate) in load.rates.iter().enumerate() {
        let schedule = Schedule {
            rate,
            pairs: load.pairs,
            warmup: load.warmup,
            window: load.window,
        };
        let step = u32::try_from(step).unwrap_or(u32::MAX);
        let start = Instant::now() + LEAD;
        let mut sent_replies = Vec::new();
        for job in &jobs {
            let (done, reply) = oneshot::channel();
            let job_sent = job.send(Job {
                step,
                schedule,
                start,
                done,
            });
            if job_sent.await.is_ok() {
                sent_replies.push(reply);
            }
        }
        let mut tally = StepTally::new(step, schedule, origin, start);
        let mut errors = BTreeMap::new();
        let mut closed = 0u64;
        let mut note = |n: Note| match n {
            Note::SendError(code) => *errors.entry(code).or_insert(0u64) += 1,
            Note::Closed(why) => {
                closed += 1;
                if closed <= 5 {
                    eprintln!("connection closed: {why}");
                }
            }
        };
        let mut cost = Cost::default();
        let pids = target.pids().to_vec();
        let sends = futures::future::join_all(sent_replies);
        tokio::pin!(sends);
        let window_start = tokio::time::sleep_until(start + schedule.warmup);
        let window_end = tokio::time::sleep_until(start + schedule.end());
        tokio::pin!(window_start, window_end);
        let (mut started, mut ended, mut sent) = (false, false, None);
        while !(ended && sent.is_some()) {
            tokio::select! {
                Some(a) = arrivals.recv() => tally.record(a),
                Some(n) = notes.recv() => note(n),
                () = &mut window_start, if !started => {
                    started = true;
                    cost.server_start = procstat::sample(&pids);
                    cost.generator_start = procstat::own();
                }
                () = &mut window_end, if !ended => {
                    ended = true;
                    cost.server_end = procstat::sample(&pids);
                    cost.generator_end = procstat::own();
                }
                counts = &mut sends, if sent.is_none() => {
                    sent = Some(counts.into_iter().map(|c| c.unwrap_or(0)).sum::<u64>());
                }
            }
        }
        let sent = sent.unwrap_or(0);
        let drain_start = Instant::now();
        let deadline = tokio::time::sleep(load.drain);
        tokio::pin!(deadline);
        while tally.delivered < sent {
            tokio::select! {
                Some(a) = arrivals.recv() => tally.record(a),
                Some(n) = notes.recv() => note(n),
                () = &mut deadline => break,
            }
        }
        let mut report = tally.report(&format!("{:?}", target.kind).to_lowercase(), sent, cost);
        report.send_errors = errors;
        report.closed = closed;
        report.drain_seconds = drain_start.elapsed().as_secs_f64();
        eprintln!("{}", super::table::pairs_row(&report));
        reports.push(report);
    }
    let _ = stop_tx.send(true);
    drop(jobs);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    Ok(reports)
}

/// Opens every pair's two connections, a bounded number at a time.
async fn connect_all(
    flavor: super::link::Flavor,
    dials: &[PairDials],
) -> Result<Vec<(Link, Link)>> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(dials.iter().enumerate())
        .map(|(i, d)| async move {
            let sender = Link::connect(flavor, &d.sender)
                .await
                .with_context(|| format!("connecting sender {i}"))?;
            let receiver = Link::connect(flavor, &d.receiver)
                .await
                .with_context(|| format!("connecting receiver {i}"))?;
            Ok::<_, anyhow::Error>((sender, receiver))
        })
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await
}

/// A sending client: writes its pair's messages when they are due.
struct SenderTask {
    pair: usize,
    address: String,
    origin: Instant,
    body_bytes: usize,
}

impl SenderTask {
    async fn run(
        self,
        mut link: Link,
        mut jobs: mpsc::Receiver<Job>,
        notes: mpsc::UnboundedSender<Note>,
    ) {
        let mut keepalive =
            tokio::time::interval_at(Instant::now() + link.heartbeat, link.heartbeat);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The job in progress and the index of its next message.
        let mut current: Option<(Job, u64, u64)> = None;
        loop {
            let wake = current
                .as_ref()
                .map(|(job, k, _)| job.start + job.schedule.due(self.pair, *k));
            tokio::select! {
                inbound = link.next() => match inbound {
                    Inbound::Error(code) => { let _ = notes.send(Note::SendError(code)); }
                    Inbound::Ping => {
                    let ponged = link.pong().await;
                    if ponged.is_err() { break; }
                }
                    Inbound::Closed(why) => {
                        let _ = notes.send(Note::Closed(format!("sender {}: {why}", self.pair)));
                        break;
                    }
                    _ => {}
                },
                job = jobs.recv(), if current.is_none() => match job {
                    Some(job) => {
                        let count = job.schedule.count(self.pair);
                        current = Some((job, 0, count));
                    }
                    None => { link.close().await; break; }
                },
                () = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    if let Some((job, k, count)) = current.as_mut() {
                        // Every message due by now goes out, late ones included:
                        // the schedule never slips.
                        let now = Instant::now();
                        while *k < *count && job.start + job.schedule.due(self.pair, *k) <= now {
                            let due = job.start + job.schedule.due(self.pair, *k);
                            let tag = Tag {
                                due_ns: u64::try_from(due.duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX),
                                step: job.step,
                                pair: u32::try_from(self.pair).unwrap_or(u32::MAX),
                                k: *k,
                            };
                            let id = format!("m{}-{}-{}", job.step, self.pair, k);
                            if let Err(err) = link.send(&self.address, &id, &tag::encode(tag, self.body_bytes)).await {
                                let _ = notes.send(Note::Closed(format!("sender {}: {err}", self.pair)));
                                break;
                            }
                            *k += 1;
                        }
                        if *k >= *count && let Some((job, k, _)) = current.take() {
                            let _ = job.done.send(k);
                        }
                    }
                }
                _ = keepalive.tick(), if link.pings_server() => {
                    if link.keepalive().await.is_err() { break; }
                }
            }
        }
        if let Some((job, k, _)) = current.take() {
            let _ = job.done.send(k);
        }
    }
}

/// A receiving client: reports and acknowledges every message.
struct ReceiverTask {
    arrivals: mpsc::UnboundedSender<Arrival>,
    notes: mpsc::UnboundedSender<Note>,
}

impl ReceiverTask {
    async fn run(self, mut link: Link, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut keepalive =
            tokio::time::interval_at(Instant::now() + link.heartbeat, link.heartbeat);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_seq: u64 = 0;
        loop {
            tokio::select! {
                inbound = link.next() => match inbound {
                    Inbound::Message { conversation, seq, text } => {
                        let at = Instant::now();
                        let seq_gap = seq.is_some_and(|s| s != last_seq + 1);
                        if let Some(s) = seq { last_seq = last_seq.max(s); }
                        if let Some(tag) = tag::decode(&text) {
                            let _ = self.arrivals.send(Arrival { tag, at, seq_gap });
                        }
                        let id = format!("m{}", seq.unwrap_or(0));
                        if link.ack(&conversation, seq, &id).await.is_err() { break; }
                    }
                    Inbound::Ping => {
                    let ponged = link.pong().await;
                    if ponged.is_err() { break; }
                }
                    Inbound::Closed(why) => {
                        let _ = self.notes.send(Note::Closed(format!("receiver: {why}")));
                        break;
                    }
                    _ => {}
                },
                _ = keepalive.tick(), if link.pings_server() => {
                    if link.keepalive().await.is_err() { break; }
                }
                _ = stop.changed() => { link.close().await; break; }
            }
        }
    }
}
