//! Tests of the blob port.
//!
//! The contract in [`contract`] is written once and instantiated per
//! backend, so test names say which backend ran:
//! `s3::bulk::list_paginates_within_a_prefix`. The S3 tests use the s3s-fs server
//! that `scripts/test.sh` starts (`CHATFLOW_TEST_S3_*` override where), each
//! under a key prefix of its own; [`s3_faults`] runs a private s3s-fs it
//! kills and restarts; [`local`] covers what only the directory backend has.
#![allow(clippy::unwrap_used, missing_docs)]

mod bulk;
mod contract;
mod local;
mod objects;
mod presigned;
mod s3_faults;

use std::time::Duration;

use chatflow_blobs::{BlobOptions, BlobStoreRef, S3Credentials, S3Options, presigned_router};

/// The bucket every S3 contract test shares, each under its own prefix.
const TEST_BUCKET: &str = "chatflow-blobs-test";

/// A fresh store plus what keeps it alive (temp dir, presigned URL server).
pub struct Fixture {
    pub store: BlobStoreRef,
    pub http: reqwest::Client,
    pub _dir: Option<tempfile::TempDir>,
    pub _server: Option<ServerGuard>,
}

/// Stops a spawned server task when the test ends.
pub struct ServerGuard(pub tokio::task::JoinHandle<()>);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn unique_prefix() -> String {
    format!("t-{}/", uuid::Uuid::new_v4().simple())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Options for an s3s-fs server at `endpoint`.
pub fn s3_options(endpoint: &str, op_timeout: Duration) -> BlobOptions {
    BlobOptions {
        key_prefix: Some(unique_prefix()),
        op_timeout,
        s3: S3Options {
            endpoint: Some(endpoint.to_owned()),
            region: Some("us-east-1".to_owned()),
            force_path_style: true,
            credentials: Some(S3Credentials {
                access_key_id: env_or("CHATFLOW_TEST_S3_ACCESS_KEY", "AKIDLOCAL"),
                secret_access_key: env_or("CHATFLOW_TEST_S3_SECRET_KEY", "secretlocal123"),
                session_token: None,
            }),
            server_side_encryption: None,
        },
        ..BlobOptions::default()
    }
}

pub async fn s3_fixture() -> Fixture {
    let endpoint = env_or("CHATFLOW_TEST_S3_ENDPOINT", "http://127.0.0.1:8014");
    let options = s3_options(&endpoint, Duration::from_secs(20));
    let store = chatflow_blobs::connect(&format!("s3://{TEST_BUCKET}"), options)
        .await
        .unwrap();
    store.ensure_bucket().await.expect(
        "an S3 server must run at CHATFLOW_TEST_S3_ENDPOINT (scripts/test.sh starts s3s-fs)",
    );
    Fixture {
        store,
        http: reqwest::Client::new(),
        _dir: None,
        _server: None,
    }
}

pub async fn file_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = BlobOptions {
        key_prefix: Some(unique_prefix()),
        op_timeout: Duration::from_secs(20),
        presign_base_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        presign_secret: Some("contract-suite-secret-0123456789".to_owned()),
        ..BlobOptions::default()
    };
    let url = format!("file://{}", dir.path().join("blobs").display());
    let store = chatflow_blobs::connect(&url, options).await.unwrap();
    let router = presigned_router(store.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Fixture {
        store,
        http: reqwest::Client::new(),
        _dir: Some(dir),
        _server: Some(ServerGuard(server)),
    }
}

mod file {
    crate::contract_suite!(crate::file_fixture);
}

mod s3 {
    crate::contract_suite!(crate::s3_fixture);
}
