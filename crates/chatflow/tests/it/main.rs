//! The `chatflow` binary as a newcomer runs it: `up` on embedded backends,
//! health endpoints, data surviving a restart, and `--production` refusing
//! embedded backends.
#![allow(clippy::unwrap_used, missing_docs)]

mod process;

use process::Fleet;
use serde_json::json;

#[tokio::test]
async fn up_serves_health_and_keeps_flags_across_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let fleet = Fleet::up(data.path()).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{}/healthz", fleet.ops))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = client
        .get(format!("{}/readyz", fleet.ops))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());

    let token = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    let spec = json!({"kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on", "enabled": true});
    let created = client
        .post(format!("{}/v1/flags", fleet.config_http))
        .bearer_auth(token.trim())
        .json(&json!({"key": "survives.restart", "spec": spec}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let metrics = client
        .get(format!("{}/metrics", fleet.ops))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("chatflow_config_flag_changes_total"),
        "{metrics}"
    );
    fleet.stop().await;

    let fleet = Fleet::up(data.path()).await;
    let fetched = client
        .get(format!("{}/v1/flags/survives.restart", fleet.config_http))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200, "flag lost across restart");
    fleet.stop().await;
}

#[test]
fn production_without_backend_urls_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chatflow"))
        .args(["up", "--production", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--production refuses the embedded event bus"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(data.path()).unwrap().next().is_none(),
        "wrote files before refusing"
    );
}

#[test]
fn unknown_service_names_are_listed() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chatflow"))
        .args(["serve", "nosuch"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown service \"nosuch\"") && stderr.contains("config"),
        "{stderr}"
    );
}
