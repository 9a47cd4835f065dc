//! Real-time messaging through `chatflow up`, as a client sees it: accounts
//! from auth, a group from the groups service, messages over the gateway's
//! WebSocket stored by the router and fanned out live to every member, and
//! history over REST.

use chatflow_testkit::ws::Client;
use serde_json::{Value, json};

use crate::process::Fleet;

fn send(id: &str, conversation: &str, text: &str) -> Value {
    json!({"type": "send", "id": id, "conversation_id": conversation, "client_msg_id": format!("m-{id}"), "text": text})
}

#[tokio::test]
async fn a_group_chat_and_a_direct_chat_work_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::up(data.path()).await;
    let (ada_id, ada) = fleet.account("ada@example.com").await;
    let (bo_id, bo) = fleet.account("bo@example.com").await;
    let (_, eve) = fleet.account("eve@example.com").await;
    let http = reqwest::Client::new();

    let group: Value = http
        .post(format!("{}/v1/groups", fleet.url("groups http")))
        .bearer_auth(&ada)
        .json(&json!({"name": "Lunch", "member_ids": [bo_id]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group_id = group["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{group}"))
        .to_owned();

    let (mut ada_ws, _) = Client::hello(&fleet.url("gateway ws"), &ada, json!({})).await;
    // A client that learns of a conversation follows it from its start.
    let (mut bo_ws, _) = Client::hello(&fleet.url("gateway ws"), &bo, json!({&group_id: 0})).await;
    ada_ws.send(send("s1", &group_id, "pizza?")).await;
    let ack = ada_ws.recv_type("ack").await;
    assert_eq!(
        (ack["id"].as_str(), ack["duplicate"].as_bool()),
        (Some("s1"), Some(false))
    );
    let seq = ack["seq"].as_u64().unwrap();
    // Bob gets the group's creation notice, then the message, live and in
    // the conversation's order.
    let notice = bo_ws.recv_type("message").await["message"].clone();
    assert_eq!(
        (notice["kind"].as_str(), notice["seq"].as_u64()),
        (Some("system"), Some(1)),
        "{notice}"
    );
    let body: Value = serde_json::from_str(notice["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["actor_id"].as_str()),
        (Some("created"), Some(ada_id.as_str()))
    );
    let message = bo_ws.recv_type("message").await["message"].clone();
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
    let direct: Value = http
        .post(format!("{}/v1/groups/direct", fleet.url("groups http")))
        .bearer_auth(&bo)
        .json(&json!({"user_id": ada_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let direct_id = direct["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{direct}"))
        .to_owned();
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
    bo_ws.send(send("s9", &group_id, "still here?")).await;
    assert_eq!(bo_ws.recv_type("error").await["code"], "forbidden");
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
    bo_ws.send(json!({"type": "ping", "id": "p9"})).await;
    let next = bo_ws.recv().await;
    assert_eq!(
        next["type"], "pong",
        "a removed member still received {next}"
    );
    fleet.stop().await;
}
