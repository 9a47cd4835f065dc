//! The `chatflow` binary as a newcomer runs it: `up` on embedded backends,
//! health endpoints, data surviving a restart, and `--production` refusing
//! embedded backends.
#![allow(clippy::unwrap_used, missing_docs)]

mod deployment;
mod durability;
mod live;
mod messaging;
#[cfg(feature = "kafka")]
mod presence;
mod process;
#[cfg(feature = "kafka")]
mod split;

use process::Fleet;
use serde_json::json;

#[tokio::test]
async fn up_serves_health_and_keeps_flags_across_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let fleet = Fleet::up(data.path()).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{}/healthz", fleet.url("ops http")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = client
        .get(format!("{}/readyz", fleet.url("ops http")))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());

    let token = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    let spec = json!({"kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on", "enabled": true});
    let created = client
        .post(format!("{}/v1/flags", fleet.url("config http")))
        .bearer_auth(token.trim())
        .json(&json!({"key": "survives.restart", "spec": spec}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let metrics = client
        .get(format!("{}/metrics", fleet.url("ops http")))
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
        .get(format!(
            "{}/v1/flags/survives.restart",
            fleet.url("config http")
        ))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200, "flag lost across restart");
    fleet.stop().await;
}

/// Done-when of the identity issue: an account that an operator granted the
/// `operator` role manages flags in the config service with its access token.
#[tokio::test]
async fn an_operator_account_manages_flags_with_its_access_token() {
    let data = tempfile::tempdir().unwrap();
    let mut fleet = Fleet::up(data.path()).await;
    let client = reqwest::Client::new();
    let auth = fleet.url("auth http").clone();
    let (_, user_token) = fleet.account("ops@example.com").await;
    let flags = format!("{}/v1/flags", fleet.url("config http"));
    let denied = client
        .get(&flags)
        .bearer_auth(&user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403, "a plain user opened the admin API");
    // The same token works at the profile service, verified in-process.
    let profile = client
        .patch(format!("{}/v1/profile/me", fleet.url("profile http")))
        .bearer_auth(&user_token)
        .json(&json!({"display_name": "Ops"}))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200, "{}", profile.text().await.unwrap());

    let operator_token = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    let granted = client
        .put(format!(
            "{auth}/v1/auth/admin/accounts/ops@example.com/roles"
        ))
        .bearer_auth(operator_token.trim())
        .json(&json!({"roles": ["operator"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    let access = fleet.login("ops@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let spec = json!({"kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on", "enabled": true});
    let created = client
        .post(&flags)
        .bearer_auth(&access)
        .json(&json!({"key": "ops.managed", "spec": spec}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let audit: serde_json::Value = client
        .get(format!("{flags}/ops.managed/audit"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        audit["entries"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("user:"),
        "{audit}"
    );
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
