//! The run: accounts and a group on the fleet, one connection per simulated
//! device, then the phases — the same message load without and with a
//! presence/typing flood — each measured into a [`PhaseReport`].

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clients::{flooder, receiver, sender};
use crate::fleet::Fleet;
use crate::report::PhaseReport;
use crate::setup::{self, Account};
use crate::stats::Summary;
use crate::tally::{Event, PhaseTally};

/// How long receivers may take to get the last messages of a phase.
const DRAIN_WAIT: Duration = Duration::from_secs(10);
/// Time between scheduling a phase and its first send.
const LEAD: Duration = Duration::from_millis(200);
/// How long the flood runs before the first message, to measure under it.
const FLOOD_WARM_UP: Duration = Duration::from_secs(1);

/// The shape of the load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Sending devices.
    pub senders: usize,
    /// Receiving devices.
    pub receivers: usize,
    /// Messages per second, all senders together.
    pub rate: f64,
    /// Length of each phase's sending.
    pub seconds: f64,
    /// Length of the unmeasured-for-comparison warm-up before the baseline.
    pub warmup: f64,
    /// Flooding devices in the flood phase.
    pub flooders: usize,
    /// Typing/presence frames per second, all flooders together.
    pub flood_rate: f64,
}

/// Every client task and how to reach it.
struct Clients {
    senders: Vec<mpsc::Sender<sender::Job>>,
    receivers: Vec<mpsc::Sender<receiver::Command>>,
    flooders: Vec<mpsc::Sender<flooder::Command>>,
    tasks: Vec<JoinHandle<()>>,
    events: mpsc::UnboundedReceiver<Event>,
    members: Vec<String>,
}

/// Sets up the load on `fleet` and runs the phases (warm-up, baseline,
/// flood); returns the setup time and the phase reports.
pub async fn run(
    fleet: &mut Fleet,
    load: Load,
    origin: Instant,
) -> Result<(f64, Vec<PhaseReport>)> {
    let started = Instant::now();
    let mut clients = connect(fleet, load, origin).await?;
    let setup = started.elapsed().as_secs_f64();
    let mut phases = Vec::new();
    if load.warmup > 0.0 {
        // Caches, connection pools and SQLite pages warm up here, so the
        // baseline is not penalized for running first.
        phases.push(phase(&mut clients, load, "warm-up", "u", load.warmup, false).await?);
    }
    phases.push(phase(&mut clients, load, "baseline", "b", load.seconds, false).await?);
    let flood = load.flooders > 0;
    phases.push(
        phase(
            &mut clients,
            load,
            "presence flood",
            "f",
            load.seconds,
            flood,
        )
        .await?,
    );
    let Clients {
        senders,
        receivers,
        flooders,
        tasks,
        ..
    } = clients;
    // Without its command channel, every task closes its socket and ends.
    drop((senders, receivers, flooders));
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    Ok((setup, phases))
}

/// Creates the accounts and the group, and connects every device.
async fn connect(fleet: &mut Fleet, load: Load, origin: Instant) -> Result<Clients> {
    let http = reqwest::Client::new();
    let roles = [
        ("sender", load.senders),
        ("receiver", load.receivers),
        ("flooder", load.flooders),
    ];
    let emails: Vec<String> = roles
        .iter()
        .flat_map(|(role, n)| (0..*n).map(move |i| format!("{role}{i}@load.example.com")))
        .collect();
    let accounts = setup::accounts(fleet, &http, &emails).await?;
    setup::share_presence(fleet, &http, &accounts).await?;
    let Some((owner, others)) = accounts.split_first() else {
        bail!("no accounts");
    };
    let others: Vec<&Account> = others.iter().collect();
    let group = setup::group(fleet, &http, owner, &others).await?;
    let ws = fleet.url("gateway ws")?.to_owned();
    let resume = json!({ &group: 0 });
    let connections = futures::future::try_join_all(accounts.iter().enumerate().map(|(i, a)| {
        let (ws, resume) = (&ws, resume.clone());
        async move {
            crate::conn::hello(ws, &a.token, resume)
                .await
                .with_context(|| format!("connecting device {i}"))
        }
    }))
    .await?;
    let (events_tx, events) = mpsc::unbounded_channel();
    let mut clients = Clients {
        senders: Vec::new(),
        receivers: Vec::new(),
        flooders: Vec::new(),
        tasks: Vec::new(),
        events,
        members: accounts.iter().map(|a| a.user_id.clone()).collect(),
    };
    for (i, conn) in connections.into_iter().enumerate() {
        let group = group.clone();
        let events = events_tx.clone();
        if i < load.senders {
            let (tx, rx) = mpsc::channel(4);
            let device = sender::Sender {
                index: i,
                group,
                origin,
            };
            clients.tasks.push(device.spawn(conn, events, rx));
            clients.senders.push(tx);
        } else if i < load.senders + load.receivers {
            let (tx, rx) = mpsc::channel(4);
            let index = i - load.senders;
            let device = receiver::Receiver {
                index,
                group,
                origin,
            };
            clients.tasks.push(device.spawn(conn, events, rx));
            clients.receivers.push(tx);
        } else {
            let (tx, rx) = mpsc::channel(4);
            let index = i - load.senders - load.receivers;
            let device = flooder::Flooder { index, group };
            clients.tasks.push(device.spawn(conn, events, rx));
            clients.flooders.push(tx);
        }
    }
    Ok(clients)
}

/// One phase: `rate` messages a second for `seconds`, with the flood if
/// `flood`, then until every receiver has every acked message (or
/// [`DRAIN_WAIT`]).
async fn phase(
    clients: &mut Clients,
    load: Load,
    name: &'static str,
    tag: &'static str,
    seconds: f64,
    flood: bool,
) -> Result<PhaseReport> {
    let mut tally = PhaseTally::new(tag, load.receivers);
    let mut lead = LEAD;
    let flood_started = Instant::now();
    if flood {
        for receiver in &clients.receivers {
            let _ = receiver
                .send(receiver::Command::Watch(clients.members.clone()))
                .await;
        }
        let period = Duration::from_secs_f64(load.flooders as f64 / load.flood_rate);
        for flooder in &clients.flooders {
            let members = clients.members.clone();
            let _ = flooder
                .send(flooder::Command::Start { period, members })
                .await;
        }
        lead = FLOOD_WARM_UP;
    }
    let begin = Instant::now() + lead;
    let total = (load.rate * seconds).round() as u64;
    let mut replies = Vec::new();
    let mut unsent = 0;
    for (i, sender) in clients.senders.iter().enumerate() {
        let schedule = (i as u64..total)
            .step_by(load.senders)
            .map(|n| (n, begin + Duration::from_secs_f64(n as f64 / load.rate)))
            .collect();
        let (reply, report) = oneshot::channel();
        let job = sender::Job {
            tag,
            schedule,
            reply,
        };
        match sender.send(job).await {
            Ok(()) => replies.push(report),
            Err(refused) => unsent += refused.0.schedule.len() as u64,
        }
    }
    let all = futures::future::join_all(replies);
    tokio::pin!(all);
    let reports = loop {
        tokio::select! {
            Some(event) = clients.events.recv() => tally.record(event),
            reports = &mut all => break reports,
        }
    };
    let elapsed = begin.elapsed().as_secs_f64();
    let mut sent_flood = flooder::Sent::default();
    if flood {
        for flooder in &clients.flooders {
            let (reply, sent) = oneshot::channel();
            if flooder.send(flooder::Command::Stop(reply)).await.is_ok()
                && let Ok(sent) = sent.await
            {
                sent_flood.ephemeral += sent.ephemeral;
                sent_flood.watches += sent.watches;
            }
        }
    }
    let flood_seconds = flood_started.elapsed().as_secs_f64();
    let reports: Vec<sender::Report> = reports.into_iter().map(Result::unwrap_or_default).collect();
    let acked: HashSet<String> = reports
        .iter()
        .flat_map(|r| r.acked.iter().cloned())
        .collect();
    let drain = async {
        while !tally.has_all(&acked) {
            match clients.events.recv().await {
                Some(event) => tally.record(event),
                None => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_WAIT, drain).await;
    let outcome = tally.outcome(&acked);
    let mut send_errors = std::collections::BTreeMap::new();
    for (code, n) in reports.iter().flat_map(|r| &r.errors) {
        *send_errors.entry(code.clone()).or_default() += n;
    }
    Ok(PhaseReport {
        name,
        seconds: elapsed,
        sent: reports.iter().map(|r| r.sent).sum(),
        acked: acked.len() as u64,
        send_errors,
        unanswered: unsent + reports.iter().map(|r| r.unanswered).sum::<u64>(),
        expected: outcome.expected,
        received: outcome.received,
        lost: outcome.lost,
        duplicates: outcome.duplicates,
        out_of_order: tally.out_of_order,
        late: tally.late,
        delivery_ms: Summary::of(std::mem::take(&mut tally.latencies_ns)),
        ack_ms: Summary::of(
            reports
                .iter()
                .flat_map(|r| r.ack_ns.iter().copied())
                .collect(),
        ),
        flood_frames: sent_flood.ephemeral,
        flood_seconds: if flood { flood_seconds } else { 0.0 },
        flood_watches: sent_flood.watches,
        typing_received: tally.typing,
        receipts_received: tally.receipts,
        presence_received: tally.presence,
        watching_received: tally.watching,
        watched_statuses: tally.watched,
        errors: tally.errors,
        closed: tally.closed,
    })
}
