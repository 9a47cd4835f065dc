//! Real-time messaging as a client sees it, on `chatflow up` and on the
//! split deployment over real backends: accounts from auth, a group from the
//! groups service, messages over the gateway's WebSocket stored by the
//! router and fanned out live to every member, edits, reactions and deletes
//! converging, history over REST, and members removed losing access.

use chatflow_testkit::ws::Client;
use serde_json::{Value, json};

use crate::deployment::Deployment;

fn send(id: &str, conversation: &str, text: &str) -> Value {
    json!({"type": "send", "id": id, "conversation_id": conversation, "client_msg_id": format!("m-{id}"), "text": text})
}

#[tokio::test]
async fn group_and_direct_chats_work_end_to_end_on_chatflow_up() {
    group_and_direct_chats(Deployment::embedded().await).await;
}

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_and_direct_chats_work_end_to_end_as_separate_processes() {
    group_and_direct_chats(Deployment::split(1).await).await;
}

/// The next `message` frame's message.
async fn next_message(ws: &mut Client) -> Value {
    ws.recv_type("message").await["message"].clone()
}

/// Reads until the ack of request `id`, keeping the messages that came first.
async fn until_ack(ws: &mut Client, id: &str, seen: &mut Vec<Value>) -> u64 {
    loop {
        let frame = ws.recv().await;
        match frame["type"].as_str() {
            Some("message") => seen.push(frame["message"].clone()),
            Some("ack") if frame["id"] == id => return frame["seq"].as_u64().unwrap(),
            Some("error") => panic!("{frame}"),
            _ => {}
        }
    }
}

/// Reads until `conversation`'s message `seq` has arrived (unless it has).
async fn until_seq(ws: &mut Client, conversation: &str, seq: u64, seen: &mut Vec<Value>) {
    let arrived = |seen: &[Value]| {
        seen.iter()
            .any(|m| m["conversation_id"] == conversation && m["seq"].as_u64() == Some(seq))
    };
    while !arrived(seen) {
        seen.push(next_message(ws).await);
    }
}

async fn group_and_direct_chats(mut fleet: Deployment) {
    let (ada_id, ada) = fleet.account("ada@example.com").await;
    let (bo_id, bo) = fleet.account("bo@example.com").await;
    let (_, eve) = fleet.account("eve@example.com").await;
    let http = reqwest::Client::new();

    let group_id = fleet.group(&ada, "Lunch", &[&bo_id]).await;

    let (mut ada_ws, _) =
        Client::hello(&fleet.url("gateway ws"), &ada, json!({&group_id: 0})).await;
    // A client that learns of a conversation follows it from its start.
    let (mut bo_ws, _) = Client::hello(&fleet.url("gateway ws"), &bo, json!({&group_id: 0})).await;
    ada_ws.send(send("s1", &group_id, "pizza?")).await;
    let ack = ada_ws.recv_type("ack").await;
    assert_eq!(
        (ack["id"].as_str(), ack["duplicate"].as_bool()),
        (Some("s1"), Some(false))
    );
    let seq = ack["seq"].as_u64().unwrap();
    // Bob gets the message and the group's creation notice (posted by the
    // router when the groups event reaches it, usually first), live and in
    // the conversation's order: seqs 1 and 2 with no gap.
    let mut bo_group = Vec::new();
    while bo_group.len() < 2 {
        let message = next_message(&mut bo_ws).await;
        if message["conversation_id"] == group_id.as_str() {
            bo_group.push(message);
        }
    }
    let seqs: Vec<u64> = bo_group
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2]);
    let notice = bo_group.iter().find(|m| m["kind"] == "system").unwrap();
    let body: Value = serde_json::from_str(notice["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["actor_id"].as_str()),
        (Some("created"), Some(ada_id.as_str()))
    );
    let message = bo_group.iter().find(|m| m["kind"] == "text").unwrap();
    assert_eq!(
        (
            message["seq"].as_u64(),
            message["sender_id"].as_str(),
            message["text"].as_str()
        ),
        (Some(seq), Some(ada_id.as_str()), Some("pizza?"))
    );
    // The same over REST history, for members only.
    let history = format!(
        "{}/v1/conversations/{group_id}/messages?after=0",
        fleet.url("message-router http")
    );
    let page: Value = http
        .get(&history)
        .bearer_auth(&bo)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "pizza?"),
        "{page}"
    );
    // A retried send is the original ack. Edits, reactions and deletes take
    // their own seqs, and both members see the same sequence of them live.
    ada_ws.send(send("s1", &group_id, "pizza?")).await;
    let retried = ada_ws.recv_type("ack").await;
    assert_eq!(
        (retried["seq"].as_u64(), retried["duplicate"].as_bool()),
        (Some(seq), Some(true))
    );
    let change = |kind: &str, id: &str, extra: Value| {
        let mut frame = json!({"type": kind, "id": id, "conversation_id": group_id,
            "client_msg_id": format!("c-{id}"), "target_seq": seq});
        for (k, v) in extra.as_object().unwrap() {
            frame[k] = v.clone();
        }
        frame
    };
    let mut ada_seen = Vec::new();
    let mut bo_seen = Vec::new();
    ada_ws
        .send(change("edit", "e1", json!({"text": "pizza at one?"})))
        .await;
    let edit_seq = until_ack(&mut ada_ws, "e1", &mut ada_seen).await;
    bo_ws
        .send(change("react", "r1", json!({"emoji": "🍕"})))
        .await;
    until_ack(&mut bo_ws, "r1", &mut bo_seen).await;
    ada_ws.send(change("delete", "d1", json!({}))).await;
    let delete_seq = until_ack(&mut ada_ws, "d1", &mut ada_seen).await;
    until_seq(&mut ada_ws, &group_id, delete_seq, &mut ada_seen).await;
    until_seq(&mut bo_ws, &group_id, delete_seq, &mut bo_seen).await;
    let changes = |seen: &[Value]| -> Vec<(u64, String, u64)> {
        seen.iter()
            .filter(|m| {
                m["conversation_id"] == group_id.as_str() && m["seq"].as_u64() >= Some(edit_seq)
            })
            .map(|m| {
                (
                    m["seq"].as_u64().unwrap(),
                    m["kind"].as_str().unwrap().to_owned(),
                    m["target_seq"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let expected = vec![
        (edit_seq, "edit".to_owned(), seq),
        (edit_seq + 1, "reaction".to_owned(), seq),
        (delete_seq, "delete".to_owned(), seq),
    ];
    assert_eq!(delete_seq, edit_seq + 2);
    assert_eq!(changes(&ada_seen), expected);
    assert_eq!(changes(&bo_seen), expected);
    assert_eq!(
        http.get(&history)
            .bearer_auth(&eve)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let (mut eve_ws, _) = Client::hello(&fleet.url("gateway ws"), &eve, json!({})).await;
    eve_ws.send(send("e1", &group_id, "hi all")).await;
    assert_eq!(eve_ws.recv_type("error").await["code"], "forbidden");

    // A direct conversation, opened by Bob, reaches Ada's live session.
    let direct_id = fleet.direct(&bo, &ada_id).await;
    bo_ws.send(send("d1", &direct_id, "just us")).await;
    // Seq 1 of the new conversation is its creation notice.
    let direct_seq = bo_ws.recv_type("ack").await["seq"].as_u64().unwrap();
    // Ada's own group message reached her session first (senders get their
    // messages in order like everyone); then Bob's direct one.
    let received = loop {
        let frame = ada_ws.recv_type("message").await;
        if frame["message"]["conversation_id"] == direct_id.as_str()
            && frame["message"]["kind"] == "text"
        {
            break frame;
        }
    };
    assert_eq!(
        (
            received["message"]["seq"].as_u64(),
            received["message"]["text"].as_str()
        ),
        (Some(direct_seq), Some("just us"))
    );
    // Removed from the group, Bob can neither send, read nor receive.
    let removed = http
        .delete(format!(
            "{}/v1/groups/{group_id}/members/{bo_id}",
            fleet.url("groups http")
        ))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert!(
        removed.status().is_success(),
        "{}",
        removed.text().await.unwrap()
    );
    // Services learn of the removal through the bus (at once in one process,
    // within a second when split): from then on Bob is refused.
    let removed_at = std::time::Instant::now();
    for attempt in 0.. {
        let id = format!("s9-{attempt}");
        bo_ws.send(send(&id, &group_id, "still here?")).await;
        let answer = loop {
            let frame = bo_ws.recv().await;
            if frame["id"] == id.as_str() {
                break frame;
            }
        };
        if answer["type"] == "error" {
            assert_eq!(answer["code"], "forbidden", "{answer}");
            break;
        }
        assert!(
            removed_at.elapsed() < std::time::Duration::from_secs(1),
            "a removed member could still send after a second: {answer}"
        );
    }
    assert_eq!(
        http.get(&history)
            .bearer_auth(&bo)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    ada_ws.send(send("s2", &group_id, "without bo")).await;
    let after = ada_ws.recv_type("ack").await["seq"].as_u64().unwrap();
    loop {
        let frame = ada_ws.recv_type("message").await;
        if frame["message"]["seq"].as_u64() == Some(after) {
            break;
        }
    }
    // Until the pong, nothing of the group reaches Bo (receipts of his
    // other conversations may).
    bo_ws.send(json!({"type": "ping", "id": "p9"})).await;
    loop {
        let next = bo_ws.recv().await;
        if next["type"] == "pong" {
            break;
        }
        let about = next["conversation_id"]
            .as_str()
            .or(next["message"]["conversation_id"].as_str());
        assert_ne!(
            about,
            Some(group_id.as_str()),
            "a removed member still received {next}"
        );
    }
    fleet.stop().await;
}
