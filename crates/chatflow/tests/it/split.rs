//! The fleet as separate processes on the real backends (Kafka, PostgreSQL,
//! Redis, DynamoDB Local): a core process (auth, config, rate-limit,
//! profile, groups), a message router and two gateways, talking over gRPC
//! and the bus. Two clients on different gateways exchange messages while
//! first one gateway and then the router are killed with SIGKILL and
//! restarted; each client must end with exactly the conversation's full
//! sequence — no gap, no duplicate.

use std::time::{Duration, Instant};

use chatflow_testkit::ws::{Client, Frame};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::deployment::Deployment;

/// Messages each client sends.
const PER_CLIENT: usize = 1000;

/// One device that survives its gateway going away: it reconnects, resumes
/// from the last `seq` it has, and retries unacknowledged sends with the
/// same `client_msg_id`.
struct Device {
    url: String,
    token: String,
    conversation: String,
    ws: Option<Client>,
    seqs: Vec<u64>,
    /// Sends acknowledged so far.
    progress: watch::Sender<usize>,
    /// Sessions opened so far.
    sessions: usize,
    /// Sessions opened after the first (the gateway went away).
    reconnects: usize,
    /// Sends answered with a retriable error and sent again.
    retries: usize,
}

impl Device {
    async fn connect(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let last = self.seqs.last().copied().unwrap_or(0);
            let resume = json!({ self.conversation.as_str(): last });
            match Client::try_hello(&self.url, &self.token, resume).await {
                Ok((ws, _)) => {
                    self.ws = Some(ws);
                    self.reconnects += usize::from(self.sessions > 0);
                    self.sessions += 1;
                    return;
                }
                Err(err) => {
                    eprintln!("reconnect to {} failed: {err}", self.url);
                    assert!(Instant::now() < deadline, "cannot reconnect: {err}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Handles one incoming frame; returns the ack's seq if it answers `id`.
    fn take(&mut self, frame: &Value, id: &str) -> Option<Result<u64, bool>> {
        match frame["type"].as_str() {
            Some("message") => {
                let seq = frame["message"]["seq"].as_u64().unwrap();
                self.seqs.push(seq);
                None
            }
            Some("ack") if frame["id"] == id => Some(Ok(frame["seq"].as_u64().unwrap())),
            Some("error") if frame["id"] == id => {
                assert_eq!(frame["retriable"], true, "{frame}");
                Some(Err(true))
            }
            Some("error") => {
                eprintln!("error frame: {frame}");
                None
            }
            _ => None,
        }
    }

    /// Sends until acknowledged, across reconnects.
    async fn send(&mut self, n: usize, who: &str) -> u64 {
        let id = format!("{who}-{n}");
        let frame = json!({"type": "send", "id": id, "conversation_id": self.conversation,
            "client_msg_id": format!("m-{id}"), "text": format!("{who} {n}")});
        loop {
            if self.ws.is_none() {
                self.connect().await;
            }
            let ws = self.ws.as_mut().unwrap();
            if !ws.try_send(&frame).await {
                self.ws = None;
                continue;
            }
            loop {
                let next = self
                    .ws
                    .as_mut()
                    .unwrap()
                    .try_next(Duration::from_secs(15))
                    .await;
                match next {
                    Some(Frame::Json(value)) => match self.take(&value, &id) {
                        Some(Ok(seq)) => {
                            self.progress.send_modify(|sent| *sent += 1);
                            return seq;
                        }
                        Some(Err(_)) => {
                            self.retries += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            break;
                        }
                        None => {}
                    },
                    // Gone or silent: reconnect, resume, send the same id again.
                    Some(Frame::Closed(code, reason)) => {
                        eprintln!("{who} closed {code} {reason} while sending {n}");
                        self.ws = None;
                        break;
                    }
                    None => {
                        eprintln!("{who}: no answer to send {n} in 15 s");
                        self.ws = None;
                        break;
                    }
                }
            }
        }
    }

    /// Reads until every seq up to `head` has arrived, asking for a resume
    /// whenever the stream goes quiet (as a real client does).
    async fn drain_to(&mut self, head: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.seqs.last().copied().unwrap_or(0) < head {
            assert!(
                Instant::now() < deadline,
                "stuck at {:?} of {head}",
                self.seqs.last()
            );
            if self.ws.is_none() {
                self.connect().await;
            }
            match self
                .ws
                .as_mut()
                .unwrap()
                .try_next(Duration::from_secs(5))
                .await
            {
                Some(Frame::Json(value)) => {
                    self.take(&value, "");
                }
                Some(Frame::Closed(..)) | None => self.ws = None,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_is_lost_or_duplicated_when_a_gateway_and_the_router_are_killed() {
    let mut deployment = Deployment::split(2).await;
    let (ada_id, ada) = deployment.account("ada@example.com").await;
    let (bo_id, bo) = deployment.account("bo@example.com").await;
    let conversation = deployment.direct(&ada, &bo_id).await;
    assert!(!ada_id.is_empty());

    let (ada_progress, mut watch_ada) = watch::channel(0);
    let (bo_progress, _) = watch::channel(0);
    let device = |url: String, token: String, progress| Device {
        url,
        token,
        conversation: conversation.clone(),
        ws: None,
        seqs: Vec::new(),
        progress,
        sessions: 0,
        reconnects: 0,
        retries: 0,
    };
    let mut ada_dev = device(deployment.fleets[2].url("gateway ws"), ada, ada_progress);
    let mut bo_dev = device(deployment.fleets[3].url("gateway ws"), bo, bo_progress);
    let ada_task = tokio::spawn(async move {
        let mut last = 0;
        for n in 0..PER_CLIENT {
            last = last.max(ada_dev.send(n, "ada").await);
        }
        (ada_dev, last)
    });
    let bo_task = tokio::spawn(async move {
        let mut last = 0;
        for n in 0..PER_CLIENT {
            last = last.max(bo_dev.send(n, "bo").await);
        }
        (bo_dev, last)
    });

    // A third of the way in, Ada's gateway dies; two thirds in, the router.
    watch_ada
        .wait_for(|sent| *sent >= PER_CLIENT / 3)
        .await
        .unwrap();
    eprintln!("killing ada's gateway");
    let gateway = deployment.fleets.remove(2);
    let replacement = gateway.restart_after_kill().await;
    deployment.fleets.insert(2, replacement);
    eprintln!("gateway restarted; ada has sent {}", *watch_ada.borrow());
    watch_ada
        .wait_for(|sent| *sent >= PER_CLIENT * 2 / 3)
        .await
        .unwrap();
    eprintln!("killing the router");
    let router = deployment.fleets.remove(1);
    let replacement = router.restart_after_kill().await;
    deployment.fleets.insert(1, replacement);
    eprintln!("router restarted");

    let (mut ada_dev, ada_last) = ada_task.await.unwrap();
    let (mut bo_dev, bo_last) = bo_task.await.unwrap();
    let head = ada_last.max(bo_last);
    eprintln!("all sent, head {head}");
    assert_eq!(
        head as usize,
        2 * PER_CLIENT + 1,
        "one creation notice and every send, once"
    );
    ada_dev.drain_to(head).await;
    bo_dev.drain_to(head).await;
    let expected: Vec<u64> = (1..=head).collect();
    assert_eq!(
        ada_dev.seqs, expected,
        "Ada's device saw a gap or a duplicate"
    );
    assert_eq!(
        bo_dev.seqs, expected,
        "Bo's device saw a gap or a duplicate"
    );

    deployment.stop().await;
}
