//! An ack means durable, also under group commit: `chatflow up` is killed
//! with SIGKILL in the middle of a burst of pipelined sends over several
//! conversations (so concurrent writes share commits), restarted on the same
//! data directory, and every message acknowledged before the kill must be
//! there, at the seq its ack named, with its text.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatflow_testkit::ws::{Client, Frame};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::deployment::Deployment;

/// Sends pipelined per conversation (no waiting for acks in between).
const PER_CONVERSATION: usize = 300;

/// Acked messages: (conversation, client_msg_id) → (seq, text).
type Acked = Arc<Mutex<BTreeMap<(String, String), (u64, String)>>>;

/// Sends the whole burst on one connection, then records acks until the
/// connection dies with the process.
async fn burst(mut ws: Client, conversation: String, acked: Acked, count: watch::Sender<usize>) {
    let mut texts = BTreeMap::new();
    for n in 0..PER_CONVERSATION {
        let id = format!("{conversation}-{n}");
        let text = format!("burst {n} in {conversation}");
        let frame = json!({"type": "send", "id": id, "conversation_id": conversation,
            "client_msg_id": id, "text": text});
        if !ws.try_send(&frame).await {
            return;
        }
        texts.insert(id, text);
    }
    loop {
        match ws.try_next(Duration::from_secs(20)).await {
            Some(Frame::Json(frame)) if frame["type"] == "ack" => {
                let id = frame["id"].as_str().unwrap_or_default().to_owned();
                let seq = frame["seq"].as_u64().unwrap();
                let text = texts[&id].clone();
                acked
                    .lock()
                    .unwrap()
                    .insert((conversation.clone(), id), (seq, text));
                count.send_modify(|n| *n += 1);
            }
            Some(Frame::Json(_)) => {}
            Some(Frame::Closed(..)) | None => return,
        }
    }
}

/// Every message of `conversation` as `token` reads it over REST.
async fn history(deployment: &Deployment, token: &str, conversation: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let url = format!(
            "{}/v1/conversations/{conversation}/messages?after={after}&limit=200",
            deployment.url("message-router http")
        );
        let page: Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let batch = page["messages"].as_array().cloned().unwrap_or_default();
        let Some(last) = batch.last().and_then(|m| m["seq"].as_u64()) else {
            return messages;
        };
        after = last;
        messages.extend(batch);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acked_message_survives_a_sigkill_during_a_group_committed_burst() {
    let mut deployment = Deployment::embedded().await;
    let (_, ada) = deployment.account("ada@example.com").await;
    let mut conversations = Vec::new();
    for peer in ["bo", "cy", "di", "ed"] {
        let (peer_id, _) = deployment.account(&format!("{peer}@example.com")).await;
        conversations.push(deployment.direct(&ada, &peer_id).await);
    }
    let acked: Acked = Arc::default();
    let (count, mut counted) = watch::channel(0);
    let mut tasks = Vec::new();
    for (i, conversation) in conversations.iter().enumerate() {
        let token = deployment
            .login_device("ada@example.com", &format!("burst-{i}"))
            .await;
        let (ws, _) = Client::hello(&deployment.url("gateway ws"), &token, json!({})).await;
        tasks.push(tokio::spawn(burst(
            ws,
            conversation.clone(),
            acked.clone(),
            count.clone(),
        )));
    }
    // Kill while the burst is in full flight: some acked, most not yet.
    let total = PER_CONVERSATION * conversations.len();
    tokio::time::timeout(
        Duration::from_secs(60),
        counted.wait_for(|n| *n >= total / 4),
    )
    .await
    .expect("the burst is acknowledged")
    .unwrap();
    let fleet = deployment.fleets.remove(0);
    deployment
        .fleets
        .insert(0, fleet.restart_after_kill().await);
    for task in tasks {
        task.await.unwrap();
    }

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= total / 4, "{} acked", acked.len());
    for conversation in &conversations {
        let stored = history(&deployment, &ada, conversation).await;
        let seqs: Vec<u64> = stored.iter().filter_map(|m| m["seq"].as_u64()).collect();
        let gapless = (seqs.first().copied().unwrap_or(1)..).take(seqs.len());
        assert!(
            seqs.iter().copied().eq(gapless),
            "gapless order in {conversation}"
        );
        let by_id: BTreeMap<&str, &Value> = stored
            .iter()
            .filter_map(|m| Some((m["client_msg_id"].as_str()?, m)))
            .collect();
        for ((_, id), (seq, text)) in acked.iter().filter(|((c, _), _)| c == conversation) {
            let message = by_id
                .get(id.as_str())
                .unwrap_or_else(|| panic!("acked {id} (seq {seq}) was lost"));
            assert_eq!(message["seq"].as_u64(), Some(*seq), "{message}");
            assert_eq!(message["text"].as_str(), Some(text.as_str()), "{message}");
        }
    }
    deployment.stop().await;
}
