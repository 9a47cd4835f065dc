//! The idle-connections scenario: N authenticated clients (ChatFlow:
//! `hello`-ed; peer: namespace-connected) that then only keep alive, grown
//! step by step. At each N: server memory per connection (RSS now − RSS
//! before any client, over N) and server CPU per second per 10,000
//! connections over a quiet window at least one heartbeat long.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::link::{Inbound, Link};
use super::procstat;
use super::target::Target;

/// Connections opened at once.
const CONNECT_CONCURRENCY: usize = 256;
/// Quiet time after connecting before memory is sampled.
const SETTLE: Duration = Duration::from_secs(3);

/// The shape of the idle load.
#[derive(Debug, Clone)]
pub struct Load {
    /// Connection counts to measure at, ascending.
    pub counts: Vec<usize>,
    /// The CPU window at each count.
    pub window: Duration,
    /// ChatFlow users the connections share.
    pub accounts: usize,
}

/// What one count measured.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    /// The system driven.
    pub target: String,
    /// Open connections.
    pub connections: usize,
    /// Server RSS before any client connected, MiB.
    pub rss_before_mib: f64,
    /// Server RSS with the connections open, MiB.
    pub rss_after_mib: f64,
    /// (after − before) / connections, KiB.
    pub kib_per_connection: f64,
    /// Server CPU per second per 10,000 connections, in % of one core.
    pub cpu_percent_per_10k: f64,
    /// Generator CPU over the window, % of one core.
    pub generator_percent: f64,
    /// Seconds to open this step's new connections.
    pub connect_seconds: f64,
    /// Connections that closed so far.
    pub closed: u64,
}

/// Memory per connection in KiB, from RSS before and after.
pub fn kib_per_connection(before: u64, after: u64, connections: usize) -> f64 {
    if connections == 0 {
        return 0.0;
    }
    after.saturating_sub(before) as f64 / 1024.0 / connections as f64
}

/// CPU-seconds over `seconds` as % of a core per 10,000 connections.
pub fn percent_per_10k(cpu_seconds: f64, seconds: f64, connections: usize) -> f64 {
    if connections == 0 || seconds <= 0.0 {
        return 0.0;
    }
    cpu_seconds / seconds * 100.0 * 10_000.0 / connections as f64
}

/// Grows the idle clients of `target` through `load.counts`.
pub async fn run(target: &mut Target, load: &Load) -> Result<Vec<IdleReport>> {
    let Some(&max) = load.counts.last() else {
        bail!("no connection counts");
    };
    let flavor = target.flavor();
    let dials = target.idle(max, load.accounts, 0).await?;
    let pids = target.pids().to_vec();
    tokio::time::sleep(SETTLE).await;
    let before = procstat::sample(&pids);
    let (stop_tx, stop) = watch::channel(false);
    let (closed_tx, mut closed_rx) = mpsc::unbounded_channel::<String>();
    let mut tasks = Vec::new();
    let mut closed = 0u64;
    let mut reports = Vec::new();
    for &count in &load.counts {
        let opening = Instant::now();
        let links: Vec<Link> = futures::stream::iter(&dials[tasks.len()..count])
            .map(|dial| Link::connect(flavor, dial))
            .buffer_unordered(CONNECT_CONCURRENCY)
            .try_collect()
            .await
            .with_context(|| format!("opening connections towards {count}"))?;
        let connect_seconds = opening.elapsed().as_secs_f64();
        for link in links {
            tasks.push(tokio::spawn(idle(link, stop.clone(), closed_tx.clone())));
        }
        tokio::time::sleep(SETTLE).await;
        let start = procstat::sample(&pids);
        let own_start = procstat::own();
        tokio::time::sleep(load.window).await;
        let end = procstat::sample(&pids);
        let own_end = procstat::own();
        while let Ok(why) = closed_rx.try_recv() {
            closed += 1;
            if closed <= 5 {
                eprintln!("idle connection closed: {why}");
            }
        }
        let seconds = load.window.as_secs_f64();
        let report = IdleReport {
            target: format!("{:?}", target.kind).to_lowercase(),
            connections: count,
            rss_before_mib: before.rss_bytes as f64 / 1_048_576.0,
            rss_after_mib: end.rss_bytes as f64 / 1_048_576.0,
            kib_per_connection: kib_per_connection(before.rss_bytes, end.rss_bytes, count),
            cpu_percent_per_10k: percent_per_10k(
                end.cpu_seconds - start.cpu_seconds,
                seconds,
                count,
            ),
            generator_percent: (own_end.cpu_seconds - own_start.cpu_seconds) / seconds * 100.0,
            connect_seconds,
            closed,
        };
        eprintln!("{}", super::table::idle_row(&report));
        reports.push(report);
    }
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    Ok(reports)
}

/// One idle client: reads, answers pings, sends keep-alives, nothing else.
async fn idle(
    mut link: Link,
    mut stop: watch::Receiver<bool>,
    closed: mpsc::UnboundedSender<String>,
) {
    let mut keepalive = tokio::time::interval_at(Instant::now() + link.heartbeat, link.heartbeat);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            inbound = link.next() => match inbound {
                Inbound::Ping => {
                    let ponged = link.pong().await;
                    if ponged.is_err() { break; }
                }
                Inbound::Closed(why) => { let _ = closed.send(why); break; }
                _ => {}
            },
            _ = keepalive.tick(), if link.pings_server() => {
                if link.keepalive().await.is_err() { break; }
            }
            _ = stop.changed() => { link.close().await; break; }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_cpu_are_normalised() {
        assert!((kib_per_connection(10 << 20, 20 << 20, 1024) - 10.0).abs() < 1e-9);
        assert_eq!(kib_per_connection(20, 10, 5), 0.0);
        assert_eq!(kib_per_connection(0, 10, 0), 0.0);
        // 0.3 CPU-s over 30 s with 20,000 connections: 1 % of a core, 0.5 % per 10k.
        assert!((percent_per_10k(0.3, 30.0, 20_000) - 0.5).abs() < 1e-9);
        assert_eq!(percent_per_10k(1.0, 0.0, 10), 0.0);
    }
}
