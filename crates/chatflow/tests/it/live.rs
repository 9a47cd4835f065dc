//! Receipts, typing and presence as clients see them, on `chatflow up` and
//! on the split deployment: delivered and read marks reach senders in a
//! group and a direct chat, unread counts follow a user across two devices,
//! marks never move back, the read-receipt switch hides reads both ways,
//! typing reaches only members, and presence follows devices.

use chatflow_testkit::ws::Client;
use serde_json::{Value, json};

use crate::deployment::Deployment;

#[tokio::test]
async fn receipts_typing_and_presence_work_end_to_end_on_chatflow_up() {
    receipts_typing_and_presence(Deployment::embedded().await).await;
}

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_typing_and_presence_work_end_to_end_as_separate_processes() {
    receipts_typing_and_presence(Deployment::split(1).await).await;
}

fn send(id: &str, conversation: &str, text: &str) -> Value {
    json!({"type": "send", "id": id, "conversation_id": conversation, "client_msg_id": format!("m-{id}"), "text": text})
}

/// Reads `receipt` frames until one about `user` in `conversation` satisfies `done`.
async fn until_receipt(
    ws: &mut Client,
    conversation: &str,
    user: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let frame = ws.recv_type("receipt").await;
        if frame["conversation_id"] == conversation && frame["user_id"] == user && done(&frame) {
            return frame;
        }
    }
}

/// Reads until the message `seq` of `conversation` arrives; returns it.
async fn until_message(ws: &mut Client, conversation: &str, seq: u64) -> Value {
    loop {
        let message = ws.recv_type("message").await["message"].clone();
        if message["conversation_id"] == conversation && message["seq"].as_u64() == Some(seq) {
            return message;
        }
    }
}

async fn receipts_typing_and_presence(mut fleet: Deployment) {
    let (ada_id, ada) = fleet.account("ada@example.com").await;
    let (bo_id, bo) = fleet.account("bo@example.com").await;
    let (cy_id, cy) = fleet.account("cy@example.com").await;
    let (_, eve) = fleet.account("eve@example.com").await;
    let bo_laptop = fleet.login_device("bo@example.com", "laptop").await;
    let http = reqwest::Client::new();
    let receipts = fleet.url("receipts http");
    let ws_url = fleet.url("gateway ws");
    // Bo shows his presence to everyone; Cy keeps the default (contacts only).
    let everyone = json!({"last_seen": "everyone", "avatar": "everyone", "about": "everyone", "discovery": "everyone"});
    let privacy = http
        .put(format!(
            "{}/v1/profile/me/privacy",
            fleet.url("profile http")
        ))
        .bearer_auth(&bo)
        .json(&everyone)
        .send()
        .await
        .unwrap();
    assert!(
        privacy.status().is_success(),
        "{}",
        privacy.text().await.unwrap()
    );

    let group_id = fleet.group(&ada, "Trip", &[&bo_id, &cy_id]).await;
    let resume = json!({&group_id: 0});
    let (mut ada_ws, _) = Client::hello(&ws_url, &ada, resume.clone()).await;
    let (mut bo_phone, _) = Client::hello(&ws_url, &bo, resume.clone()).await;
    let (mut bo_lap, _) = Client::hello(&ws_url, &bo_laptop, resume.clone()).await;
    let (mut cy_ws, _) = Client::hello(&ws_url, &cy, resume.clone()).await;
    let (mut eve_ws, _) = Client::hello(&ws_url, &eve, json!({})).await;

    // Ada's message is delivered to Bo's phone and to Cy: she sees both.
    ada_ws.send(send("s1", &group_id, "train at 9?")).await;
    let seq = ada_ws.recv_type("ack").await["seq"].as_u64().unwrap();
    for ws in [&mut bo_phone, &mut cy_ws] {
        until_message(ws, &group_id, seq).await;
        ws.send(json!({"type": "ack", "conversation_id": group_id, "seq": seq}))
            .await;
    }
    // Receipts of the two members arrive in either order.
    let mut delivered_to = std::collections::BTreeSet::new();
    while delivered_to.len() < 2 {
        let receipt = ada_ws.recv_type("receipt").await;
        if receipt["conversation_id"] == group_id.as_str()
            && receipt["delivered_seq"].as_u64() >= Some(seq)
            && let Some(user) = receipt["user_id"].as_str()
            && (user == bo_id || user == cy_id)
        {
            delivered_to.insert(user.to_owned());
        }
    }

    // Bo has one unread message, on both devices' count.
    let unread: Value = http
        .get(format!("{receipts}/v1/receipts/unread"))
        .bearer_auth(&bo)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unread["total"], 1, "{unread}");
    assert_eq!(
        unread["conversations"][0]["conversation_id"],
        group_id.as_str()
    );

    // Reading on the phone clears the laptop's badge and tells Ada.
    bo_phone
        .send(json!({"type": "read", "id": "r1", "conversation_id": group_id, "seq": seq}))
        .await;
    let marked = bo_phone.recv_type("marked").await;
    assert_eq!(
        (marked["read_seq"].as_u64(), marked["unread"].as_u64()),
        (Some(seq), Some(0))
    );
    let own = until_receipt(&mut bo_lap, &group_id, &bo_id, |r| {
        r["read_seq"].as_u64() == Some(seq)
    })
    .await;
    assert_eq!(
        (own["unread"].as_u64(), own["total_unread"].as_u64()),
        (Some(0), Some(0))
    );
    until_receipt(&mut ada_ws, &group_id, &bo_id, |r| {
        r["read_seq"].as_u64() == Some(seq)
    })
    .await;

    // Marks never move back.
    bo_phone
        .send(json!({"type": "read", "id": "r2", "conversation_id": group_id, "seq": 1}))
        .await;
    assert_eq!(
        bo_phone.recv_type("marked").await["read_seq"].as_u64(),
        Some(seq)
    );

    // Cy keeps reads private: Ada sees her delivery only, and Cy sees no one's reads.
    let off = http
        .put(format!("{receipts}/v1/receipts/settings"))
        .bearer_auth(&cy)
        .json(&json!({"reads_shared": false}))
        .send()
        .await
        .unwrap();
    assert!(off.status().is_success(), "{}", off.text().await.unwrap());
    cy_ws
        .send(json!({"type": "read", "id": "r3", "conversation_id": group_id, "seq": seq}))
        .await;
    assert_eq!(
        cy_ws.recv_type("marked").await["read_seq"].as_u64(),
        Some(seq)
    );
    let cy_view: Value = http
        .get(format!("{receipts}/v1/conversations/{group_id}/receipts"))
        .bearer_auth(&cy)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let members = cy_view["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{cy_view}"));
    let bo_seen = members
        .iter()
        .find(|m| m["user_id"] == bo_id.as_str())
        .unwrap();
    assert_eq!(
        bo_seen.get("read_seq").filter(|v| !v.is_null()),
        None,
        "{cy_view}"
    );
    let summary: Value = http
        .get(format!(
            "{receipts}/v1/conversations/{group_id}/receipts/{seq}"
        ))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (summary["delivered"].as_u64(), summary["read"].as_u64()),
        (Some(2), Some(1)),
        "{summary}"
    );

    // A direct chat: Ada's message is delivered to Bo, then read, and she sees both.
    let direct_id = fleet.direct(&ada, &bo_id).await;
    ada_ws.send(send("d1", &direct_id, "just us")).await;
    let direct_seq = ada_ws.recv_type("ack").await["seq"].as_u64().unwrap();
    until_message(&mut bo_phone, &direct_id, direct_seq).await;
    bo_phone
        .send(json!({"type": "ack", "conversation_id": direct_id, "seq": direct_seq}))
        .await;
    until_receipt(&mut ada_ws, &direct_id, &bo_id, |r| {
        r["delivered_seq"].as_u64() >= Some(direct_seq)
    })
    .await;
    bo_phone
        .send(json!({"type": "read", "id": "r4", "conversation_id": direct_id, "seq": direct_seq}))
        .await;
    assert_eq!(bo_phone.recv_type("marked").await["unread"], 0);
    until_receipt(&mut ada_ws, &direct_id, &bo_id, |r| {
        r["read_seq"].as_u64() == Some(direct_seq)
    })
    .await;

    // Typing reaches the other members, not the typist's own devices nor outsiders.
    bo_phone
        .send(json!({"type": "typing", "conversation_id": group_id, "active": true}))
        .await;
    for ws in [&mut ada_ws, &mut cy_ws] {
        let typing = ws.recv_type("typing").await;
        assert_eq!(
            (typing["user_id"].as_str(), typing["active"].as_bool()),
            (Some(bo_id.as_str()), Some(true))
        );
    }
    bo_phone
        .send(json!({"type": "typing", "conversation_id": group_id, "active": false}))
        .await;
    assert_eq!(ada_ws.recv_type("typing").await["active"], false);
    eve_ws
        .send(json!({"type": "typing", "conversation_id": group_id, "active": true}))
        .await;
    assert_eq!(eve_ws.recv_type("error").await["code"], "forbidden");

    // Presence: Ada follows the group. Bo is online until both his devices
    // leave; Cy is connected but shows only to contacts, so Ada sees her
    // exactly like someone offline who never shared a time.
    ada_ws
        .send(json!({"type": "watch", "id": "w1", "conversation_id": group_id}))
        .await;
    let watching = ada_ws.recv_type("watching").await;
    let user = |id: &str| {
        watching["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == id)
            .cloned()
    };
    assert_eq!(
        user(&bo_id).map(|u| u["status"].clone()),
        Some(json!("online")),
        "{watching}"
    );
    assert_eq!(
        user(&cy_id),
        Some(json!({"user_id": cy_id, "status": "offline"})),
        "{watching}"
    );
    drop(bo_phone);
    drop(bo_lap);
    loop {
        let update = ada_ws.recv_type("presence").await;
        if update["user_id"] == bo_id.as_str() && update["status"] == "offline" {
            assert!(update["last_seen_ms"].as_i64().is_some(), "{update}");
            break;
        }
    }
    let _ = ada_id;
    fleet.stop().await;
}
