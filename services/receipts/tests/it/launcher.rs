//! The launcher on a real `Platform` (embedded backends) next to the groups
//! service and the message router: the config section, the published
//! handle, membership answered by groups, and own sends read through the
//! router's real feed.

use std::time::Duration;

use chatflow_groups_client::LocalGroups;
use chatflow_message_router::{Caller, RouterHandle, SendRequest};
use chatflow_platform::{Platform, PlatformConfig, ServiceLauncher};
use chatflow_receipts::{ReceiptsHandle, ReceiptsLauncher};
use chatflow_runtime::{Health, Shutdown};
use serde_json::json;

use crate::app::{ANN, BOB, EVE, wait_for};
use crate::wire::read_req;

fn config(dir: &std::path::Path) -> PlatformConfig {
    let mut config = PlatformConfig {
        data_dir: dir.to_owned(),
        ..PlatformConfig::default()
    };
    for service in ["receipts", "groups", "message-router"] {
        config.services.insert(
            service.into(),
            json!({"http_addr": "127.0.0.1:0", "grpc_addr": "127.0.0.1:0"}),
        );
    }
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launcher_serves_and_publishes_its_in_process_client() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = Shutdown::new();
    let platform = Platform::connect(config(dir.path()), Health::new(), shutdown.clone())
        .await
        .unwrap();
    let endpoints = ReceiptsLauncher.launch(&platform).await.unwrap();
    assert_eq!(endpoints.len(), 2);
    let wants_groups = |platform: &Platform| {
        platform
            .handles()
            .missing()
            .iter()
            .any(|(_, setting)| setting == "services.receipts.groups_url")
    };
    assert!(
        wants_groups(&platform),
        "groups is expected in this process"
    );
    chatflow_groups::GroupsLauncher
        .launch(&platform)
        .await
        .unwrap();
    chatflow_message_router::RouterLauncher
        .launch(&platform)
        .await
        .unwrap();
    assert!(!wants_groups(&platform));
    let failing = platform.health().failing_checks().await;
    assert!(!failing.contains_key("kv:receipts"), "{failing:?}");
    let ReceiptsHandle(receipts) = platform.handles().get::<ReceiptsHandle>().unwrap();
    let LocalGroups(groups) = platform.handles().get::<LocalGroups>().unwrap();
    let RouterHandle(router) = platform.handles().get::<RouterHandle>().unwrap();
    let direct = groups
        .ensure_direct(ANN, BOB)
        .await
        .unwrap()
        .conversation_id;
    // A stranger is refused by the groups service's answer.
    let refused = receipts
        .mark_read(read_req(EVE, &direct, 1))
        .await
        .unwrap_err();
    assert_eq!(
        chatflow_errors::HasKind::kind(&refused),
        chatflow_errors::ErrorKind::PermissionDenied
    );
    let ack = router
        .send(SendRequest {
            caller: Caller::new(BOB, "bob-phone"),
            conversation_id: direct.clone(),
            client_msg_id: "m1".into(),
            text: "hi ann".into(),
            reply_to_seq: None,
            mentions: vec![],
            attachments: vec![],
        })
        .await
        .unwrap();
    // The router's event reaches receipts: ann has one unread, bob none.
    let probe = receipts.clone();
    wait_for("ann's unread message", || {
        let probe = probe.clone();
        async move { probe.unread(ANN).await.unwrap().total == 1 }
    })
    .await;
    assert_eq!(receipts.unread(BOB).await.unwrap().total, 0);
    let outcome = receipts
        .mark_read(read_req(ANN, &direct, ack.seq))
        .await
        .unwrap();
    assert_eq!(outcome.unread, 0);
    assert_eq!(receipts.unread(ANN).await.unwrap().total, 0);
    shutdown.trigger();
    shutdown.tracker().close();
    tokio::time::timeout(Duration::from_secs(20), shutdown.tracker().wait())
        .await
        .expect("services did not stop");
}

#[tokio::test]
async fn unknown_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = config(dir.path());
    bad.services
        .insert("receipts".into(), json!({"surprise": 1}));
    let platform = Platform::connect(bad, Health::new(), Shutdown::new())
        .await
        .unwrap();
    let err = ReceiptsLauncher
        .launch(&platform)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("surprise"), "{err}");
}
