//! The launcher on a real `Platform` (embedded backends) next to the groups
//! service: the config section, the generated development secret, the
//! in-process handle, and membership answered by the groups service.

use std::time::Duration;

use chatflow_groups_client::LocalGroups;
use chatflow_message_router::{HistoryRequest, RouterHandle, RouterLauncher};
use chatflow_platform::{Platform, PlatformConfig, ServiceLauncher};
use chatflow_runtime::{Health, Shutdown};
use serde_json::json;

use crate::app::{ANN, BOB, send_request};

fn config(dir: &std::path::Path) -> PlatformConfig {
    let mut config = PlatformConfig {
        data_dir: dir.to_owned(),
        ..PlatformConfig::default()
    };
    config.services.insert(
        "message-router".into(),
        json!({"http_addr": "127.0.0.1:0", "grpc_addr": "127.0.0.1:0"}),
    );
    config.services.insert(
        "groups".into(),
        json!({"http_addr": "127.0.0.1:0", "grpc_addr": "127.0.0.1:0"}),
    );
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launcher_serves_and_publishes_its_in_process_client() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = Shutdown::new();
    let platform = Platform::connect(config(dir.path()), Health::new(), shutdown.clone())
        .await
        .unwrap();
    let endpoints = RouterLauncher.launch(&platform).await.unwrap();
    assert_eq!(endpoints.len(), 2);
    chatflow_groups::GroupsLauncher
        .launch(&platform)
        .await
        .unwrap();
    assert!(dir.path().join("internal-secret").exists());
    let RouterHandle(router) = platform.handles().get::<RouterHandle>().unwrap();
    let LocalGroups(groups) = platform.handles().get::<LocalGroups>().unwrap();
    let direct = groups
        .ensure_direct(ANN, BOB)
        .await
        .unwrap()
        .conversation_id;
    // A stranger is refused by the groups service's answer.
    let refused = router
        .send(send_request("eve", &direct, "m0", "let me in"))
        .await
        .unwrap_err();
    assert_eq!(
        chatflow_errors::HasKind::kind(&refused),
        chatflow_errors::ErrorKind::PermissionDenied
    );
    // The conversation's creation notice may take seq 1 first (it arrives
    // through the bus), so the message is 1 or 2; either way Bob reads it.
    let ack = router
        .send(send_request(ANN, &direct, "m1", "hi"))
        .await
        .unwrap();
    assert!((1..=2).contains(&ack.seq), "{ack:?}");
    let page = router
        .history(HistoryRequest {
            caller: chatflow_message_router::Caller::new(BOB, "d"),
            conversation_id: direct.clone(),
            after_seq: Some(0),
            before_seq: None,
            limit: None,
        })
        .await
        .unwrap();
    let texts: Vec<(u64, &str)> = page
        .messages
        .iter()
        .map(|m| (m.seq, m.text.as_str()))
        .filter(|(_, text)| *text == "hi")
        .collect();
    assert_eq!(texts, [(ack.seq, "hi")]);
    shutdown.trigger();
    shutdown.tracker().close();
    tokio::time::timeout(Duration::from_secs(20), shutdown.tracker().wait())
        .await
        .expect("router did not stop");
}

#[tokio::test]
async fn unknown_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = config(dir.path());
    bad.services
        .insert("message-router".into(), json!({"surprise": 1}));
    let platform = Platform::connect(bad, Health::new(), Shutdown::new())
        .await
        .unwrap();
    let err = RouterLauncher
        .launch(&platform)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("surprise"), "{err}");
}
