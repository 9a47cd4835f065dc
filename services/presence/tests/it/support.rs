//! Test fixtures: several replicas over one cache (one in-process handle
//! when embedded, separate Redis connections under one unique prefix when
//! real), and waiting on conditions with a deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chatflow_cache::CacheRef;
use chatflow_presence::{
    PresenceNode, PresenceSettings, PresenceView, StaticVisibility, Status, VisibilityRef,
};
use chatflow_testkit::BackendKind;
use tokio_util::sync::CancellationToken;

/// The device TTL tests run with.
pub const TTL: Duration = Duration::from_secs(2);

/// Settings with a short TTL and fast gossip.
pub fn settings() -> PresenceSettings {
    PresenceSettings::for_tests(TTL)
}

/// Replicas sharing one cache namespace.
pub struct Cluster {
    shared: Option<CacheRef>,
    prefix: String,
    pub visibility: Arc<StaticVisibility>,
    /// Cancelled when the test ends, stopping every node.
    pub stop: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Cluster {
    pub async fn new(kind: BackendKind) -> Self {
        let prefix = format!("{}:", chatflow_testkit::unique_name());
        let shared = match kind {
            BackendKind::Embedded => {
                let options = chatflow_cache::CacheOptions::default();
                Some(chatflow_cache::connect("memory://", options).await.unwrap())
            }
            BackendKind::Real => None,
        };
        Self {
            shared,
            prefix,
            visibility: Arc::new(StaticVisibility::everyone()),
            stop: CancellationToken::new(),
        }
    }

    /// A handle on the cluster's cache: the shared one when embedded, a new
    /// connection (another "process") when real.
    pub async fn cache(&self) -> CacheRef {
        if let Some(shared) = &self.shared {
            return shared.clone();
        }
        let options = chatflow_cache::CacheOptions {
            key_prefix: Some(self.prefix.clone()),
            ..Default::default()
        };
        chatflow_cache::connect(&chatflow_testkit::redis_url(), options)
            .await
            .expect("Redis must be running")
    }

    /// A node with the test settings and the cluster's visibility.
    pub async fn node(&self) -> PresenceNode {
        self.node_with(settings(), self.stop.child_token()).await
    }

    /// A node with `settings`, stopped by `stop` (or the cluster's end).
    pub async fn node_with(
        &self,
        settings: PresenceSettings,
        stop: CancellationToken,
    ) -> PresenceNode {
        let visibility: VisibilityRef = self.visibility.clone();
        PresenceNode::start(self.cache().await, visibility, settings, stop)
            .await
            .unwrap()
    }

    /// A node that can be killed on its own.
    pub async fn killable(&self) -> (PresenceNode, CancellationToken) {
        let stop = self.stop.child_token();
        (self.node_with(settings(), stop.clone()).await, stop)
    }
}

/// Polls `check` until it returns `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `user` as a service sees it on `node`.
pub async fn seen(node: &PresenceNode, user: &str) -> PresenceView {
    node.get(None, &[user.to_owned()]).await.unwrap().remove(0)
}

/// Waits until `node` shows `user` with `status`; returns the view.
pub async fn wait_status(node: &PresenceNode, user: &str, status: Status) -> PresenceView {
    eventually(
        &format!("{user} {status:?} on {}", node.node_id()),
        TTL * 3,
        || async {
            let view = seen(node, user).await;
            (view.status == status).then_some(view)
        },
    )
    .await
}

/// Now, in Unix ms.
pub fn now_ms() -> i64 {
    chatflow_runtime::clock::now_ms()
}

/// A fresh user id.
pub fn user() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
