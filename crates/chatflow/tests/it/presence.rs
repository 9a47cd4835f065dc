//! Presence across separate gateway processes on Redis: each gateway runs
//! its own presence replica; a user connected to one gateway is seen online
//! by a watcher on the other, and when that gateway is killed (SIGKILL, no
//! goodbye) the user goes offline everywhere within the device TTL.

use std::time::{Duration, Instant};

use chatflow_testkit::ws::Client;
use serde_json::{Value, json};

use crate::deployment::Deployment;

/// Reads `presence` frames about `user` until one has `status`.
async fn until_status(ws: &mut Client, user: &str, status: &str) -> Value {
    loop {
        let update = ws.recv_type("presence").await;
        if update["user_id"] == user && update["status"] == status {
            return update;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_converges_across_gateway_processes_and_a_killed_one_goes_offline() {
    let mut fleet = Deployment::split(2).await;
    let (_, ada) = fleet.account("ada@example.com").await;
    let (bo_id, bo) = fleet.account("bo@example.com").await;
    let http = reqwest::Client::new();
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

    let first = fleet.fleets[2].url("gateway ws");
    let second = fleet.fleets[3].url("gateway ws");
    let (mut ada_ws, _) = Client::hello(&first, &ada, json!({})).await;
    let (mut bo_ws, _) = Client::hello(&second, &bo, json!({})).await;

    // Bo's device reported on the second gateway's replica reaches the first.
    ada_ws
        .send(json!({"type": "watch", "id": "w1", "user_ids": [bo_id]}))
        .await;
    let watching = ada_ws.recv_type("watching").await;
    if watching["users"][0]["status"] != "online" {
        until_status(&mut ada_ws, &bo_id, "online").await;
    }
    bo_ws
        .send(json!({"type": "presence", "status": "away"}))
        .await;
    until_status(&mut ada_ws, &bo_id, "away").await;

    // The second gateway dies without a word: its replica stops refreshing,
    // and Bo's device expires on the first within the TTL (3 s here).
    let killed_at = Instant::now();
    fleet.fleets.remove(3).kill().await;
    let offline = until_status(&mut ada_ws, &bo_id, "offline").await;
    assert!(offline["last_seen_ms"].as_i64().is_some(), "{offline}");
    let took = killed_at.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "offline only after {took:?}"
    );

    // The presence service (a replica in the core process) agrees.
    let seen: Value = http
        .get(format!(
            "{}/v1/presence?user_ids={bo_id}",
            fleet.url("presence http")
        ))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["users"][0]["status"], "offline", "{seen}");
    drop(bo_ws);
    fleet.stop().await;
}
