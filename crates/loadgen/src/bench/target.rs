//! The system under test, behind one interface for the scenarios: a
//! `chatflow up` the generator starts (accounts over REST, direct
//! conversations), or the Socket.IO reference peer (started here, or
//! already running at `--target-url`). Each gives dials for clients and the
//! process ids whose CPU and memory count as "the server".

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::ValueEnum;
use serde::Serialize;

use super::link::{Dial, Flavor};
use super::peer::{self, Peer};
use crate::fleet::Fleet;
use crate::setup::{self, Account};

/// Client connections per loopback source address (the ephemeral port
/// range holds about 28,000 per destination).
const PER_SOURCE: usize = 20_000;

/// Which system to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
pub enum Kind {
    /// ChatFlow (`chatflow up`, embedded durable backends).
    Chatflow,
    /// The Socket.IO v4 + Redis adapter reference peer (`bench/socketio`).
    Socketio,
}

/// How to start or reach the targets.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `chatflow` binary.
    pub chatflow: PathBuf,
    /// Extra environment for the fleet.
    pub fleet_env: Vec<(String, String)>,
    /// The peer's directory (with `node_modules`).
    pub peer_dir: PathBuf,
    /// An already running peer's WebSocket URLs (then nothing is started).
    pub peer_urls: Vec<String>,
    /// Process ids to measure when the target was not started here.
    pub server_pids: Vec<u32>,
}

/// One sending and one receiving client, and where the sender writes.
#[derive(Debug, Clone)]
pub struct PairDials {
    /// The sending client.
    pub sender: Dial,
    /// The receiving client.
    pub receiver: Dial,
    /// ChatFlow: the direct conversation; peer: the receiver's user name.
    pub address: String,
}

enum Server {
    Fleet(Fleet),
    Peer(Peer),
    External(Vec<String>),
}

/// A started (or reached) target.
pub struct Target {
    /// Which system.
    pub kind: Kind,
    server: Server,
    pids: Vec<u32>,
    http: reqwest::Client,
}

/// The loopback source address of client `i`: 127.0.0.2, .3, … every
/// [`PER_SOURCE`] clients (the whole 127/8 is loopback on Linux).
pub fn source_for(i: usize) -> IpAddr {
    let n = 2 + i / PER_SOURCE;
    IpAddr::V4(Ipv4Addr::new(
        127,
        ((n >> 16) & 0xff) as u8,
        ((n >> 8) & 0xff) as u8,
        (n & 0xff) as u8,
    ))
}

impl Target {
    /// Starts (or reaches) `kind`.
    pub async fn start(kind: Kind, options: &Options) -> Result<Self> {
        let (server, pids) = match kind {
            Kind::Chatflow => {
                let fleet = Fleet::start(&options.chatflow, &options.fleet_env).await?;
                let pids = fleet.pid().into_iter().collect();
                (Server::Fleet(fleet), pids)
            }
            Kind::Socketio if !options.peer_urls.is_empty() => (
                Server::External(options.peer_urls.clone()),
                options.server_pids.clone(),
            ),
            Kind::Socketio => {
                let peer = Peer::start(&options.peer_dir).await?;
                let pids = peer.pids();
                (Server::Peer(peer), pids)
            }
        };
        Ok(Self {
            kind,
            server,
            pids,
            http: reqwest::Client::new(),
        })
    }

    /// How clients talk to it.
    pub fn flavor(&self) -> Flavor {
        match self.kind {
            Kind::Chatflow => Flavor::ChatFlow,
            Kind::Socketio => Flavor::SocketIo,
        }
    }

    /// The processes whose CPU and memory are the server's.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// `n` pairs, each a direct conversation (ChatFlow) or two users (peer).
    /// Clients alternate over the peer's Node processes, so every message
    /// crosses the Redis adapter.
    pub async fn pairs(&mut self, n: usize) -> Result<Vec<PairDials>> {
        match &mut self.server {
            Server::Fleet(fleet) => {
                let accounts = accounts(fleet, &self.http, "pair", 2 * n).await?;
                let ws = fleet.url("gateway ws")?.to_owned();
                let couples: Vec<(&Account, &Account)> = accounts
                    .chunks_exact(2)
                    .map(|two| (&two[0], &two[1]))
                    .collect();
                let directs = setup::directs(fleet, &self.http, &couples).await?;
                Ok(couples
                    .iter()
                    .zip(directs)
                    .enumerate()
                    .map(|(i, ((a, b), direct))| PairDials {
                        sender: dial(&ws, &a.token, Vec::new(), 2 * i),
                        receiver: dial(&ws, &b.token, vec![direct.clone()], 2 * i + 1),
                        address: direct,
                    })
                    .collect())
            }
            Server::Peer(_) | Server::External(_) => {
                let urls = self.peer_urls();
                Ok((0..n)
                    .map(|i| {
                        let (a, b) = (2 * i, 2 * i + 1);
                        let receiver = format!("u{b}");
                        PairDials {
                            sender: dial(&urls[a % urls.len()], &format!("u{a}"), Vec::new(), a),
                            receiver: dial(&urls[b % urls.len()], &receiver, Vec::new(), b),
                            address: receiver,
                        }
                    })
                    .collect())
            }
        }
    }

    /// Dials for `n` idle clients. ChatFlow clients share `accounts`
    /// logged-in users round-robin (registering 100,000 users would take
    /// longer than the measurement); every peer client is its own user.
    pub async fn idle(
        &mut self,
        n: usize,
        accounts_wanted: usize,
        offset: usize,
    ) -> Result<Vec<Dial>> {
        match &mut self.server {
            Server::Fleet(fleet) => {
                let wanted = accounts_wanted.clamp(1, n.max(1));
                let users = accounts(fleet, &self.http, "idle", wanted).await?;
                let ws = fleet.url("gateway ws")?.to_owned();
                Ok((0..n)
                    .map(|i| dial(&ws, &users[i % users.len()].token, Vec::new(), offset + i))
                    .collect())
            }
            Server::Peer(_) | Server::External(_) => {
                let urls = self.peer_urls();
                Ok((0..n)
                    .map(|i| {
                        let c = offset + i;
                        dial(&urls[c % urls.len()], &format!("idle{c}"), Vec::new(), c)
                    })
                    .collect())
            }
        }
    }

    fn peer_urls(&self) -> Vec<String> {
        match &self.server {
            Server::Peer(peer) => peer.urls.clone(),
            Server::External(urls) => urls.clone(),
            Server::Fleet(_) => Vec::new(),
        }
    }

    /// Stops what was started here; says how it went.
    pub async fn stop(self) -> String {
        match self.server {
            Server::Fleet(fleet) => match fleet.stop().await {
                Ok((status, problems)) => format!("{status}, {problems} WARN/ERROR log lines"),
                Err(err) => format!("did not stop cleanly: {err:#}"),
            },
            Server::Peer(peer) => {
                peer.stop().await;
                "stopped".to_owned()
            }
            Server::External(_) => "left running".to_owned(),
        }
    }
}

/// Registers, verifies and logs in `n` accounts named `<prefix><i>`.
async fn accounts(
    fleet: &mut Fleet,
    http: &reqwest::Client,
    prefix: &str,
    n: usize,
) -> Result<Vec<Account>> {
    // Registrations are checked in batches so the codes of one batch are
    // read while they are fresh in the log.
    let mut all = Vec::with_capacity(n);
    let unique = std::process::id();
    for batch in (0..n).collect::<Vec<_>>().chunks(2000) {
        let emails: Vec<String> = batch
            .iter()
            .map(|i| format!("{prefix}{i}.{unique}@load.example.com"))
            .collect();
        all.extend(setup::accounts(fleet, http, &emails).await?);
    }
    if all.len() != n {
        bail!("wanted {n} accounts, got {}", all.len());
    }
    Ok(all)
}

fn dial(url: &str, credential: &str, resume: Vec<String>, client: usize) -> Dial {
    Dial {
        url: url.to_owned(),
        credential: credential.to_owned(),
        resume,
        source: Some(source_for(client)),
    }
}

/// Where the peer lives by default.
pub fn default_peer_dir() -> PathBuf {
    peer::default_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_step_through_loopback() {
        assert_eq!(source_for(0).to_string(), "127.0.0.2");
        assert_eq!(source_for(PER_SOURCE - 1).to_string(), "127.0.0.2");
        assert_eq!(source_for(PER_SOURCE).to_string(), "127.0.0.3");
        assert_eq!(source_for(300 * PER_SOURCE).to_string(), "127.0.1.46");
    }
}
