//! The built gateway: `/v1/ws`, the node's hub and registry upkeep, and the
//! drain that makes a rolling restart lose nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chatflow_authn::TokenVerifier;
use chatflow_cache::CacheRef;
use chatflow_events::EventBusRef;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::acks::AckFlusher;
use crate::clock::Clock;
use crate::connection::{self, Shared};
use crate::fanout::{FANOUT_GROUP, Fanout, MESSAGE_TOPICS};
use crate::hub::Hub;
use crate::ports::{MemberPort, MessagePort, PresencePort, ReceiptPort};
use crate::protocol::{SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};
use crate::receipt_fanout::{RECEIPT_GROUP, RECEIPT_TOPICS, ReceiptFanout};
use crate::registry::Registry;
use crate::settings::Config;
use crate::typing::TypingRelay;

/// What the gateway is built from.
pub struct Deps {
    /// The cache: connection registry and node channels.
    pub cache: CacheRef,
    /// Checks access tokens.
    pub verifier: TokenVerifier,
    /// The message router.
    pub messages: Arc<dyn MessagePort>,
    /// Conversation membership (fan-out, typing, watches).
    pub members: Arc<dyn MemberPort>,
    /// Delivered and read marks.
    pub receipts: Arc<dyn ReceiptPort>,
    /// Presence.
    pub presence: Arc<dyn PresencePort>,
    /// Where this node takes part in fan-out from; `None` when something
    /// else fans messages out to the nodes (tests).
    pub fanout: Option<FanoutDeps>,
}

/// What the fan-out consumers need.
pub struct FanoutDeps {
    /// The bus with the router's message topics and the receipt topics.
    pub bus: EventBusRef,
}

/// The sockets the caller bound.
pub struct Listeners {
    /// WebSocket (and HTTP) listener.
    pub http: TcpListener,
}

/// Bytes read from a socket at a time. Small, because every connection
/// keeps its read buffer for life and most are idle; a larger frame grows
/// that connection's buffer while it is read.
pub const READ_BUFFER_BYTES: usize = 1024;
/// Frames queued on a socket are written once this much is buffered, and
/// at the flush that ends every batch.
pub const WRITE_BUFFER_BYTES: usize = 8 * 1024;
/// Most bytes a socket may hold unwritten (its client does not read);
/// past it the connection ends as a slow consumer, to resume later.
pub const MAX_WRITE_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// A built gateway node, ready to run.
pub struct GatewayService {
    shared: Arc<Shared>,
    connections: TaskTracker,
    fanout: Option<FanoutDeps>,
    acks: AckFlusher,
}

impl GatewayService {
    /// A node with a fresh id.
    pub fn build(config: Config, deps: Deps) -> Self {
        crate::metrics::describe();
        let node_id = uuid::Uuid::now_v7().simple().to_string();
        let ttl = Duration::from_secs(config.registry_ttl_secs.max(3));
        let hub = Hub::default();
        let registry = Registry::new(deps.cache, node_id, ttl);
        let typing = TypingRelay::new(
            deps.members.clone(),
            registry.clone(),
            hub.clone(),
            Duration::from_millis(config.typing_ttl_ms.max(100)),
        );
        let (acks, flusher) = crate::acks::batcher(
            deps.receipts.clone(),
            Duration::from_millis(config.ack_flush_ms),
        );
        let shared = Shared {
            config: Arc::new(config),
            verifier: deps.verifier,
            port: deps.messages,
            members: deps.members,
            receipts: deps.receipts,
            presence: deps.presence,
            acks,
            typing,
            hub,
            registry,
            drain: CancellationToken::new(),
            clock: Clock::new(),
        };
        let shared = Arc::new(shared);
        Self {
            shared,
            connections: TaskTracker::new(),
            fanout: deps.fanout,
            acks: flusher,
        }
    }

    /// This node's registry (its id, and where fan-out finds users).
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// This node's local connections.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Serves until `shutdown`, then drains: no new connections, every
    /// client told to reconnect after a jittered delay, the rest closed at
    /// the deadline.
    pub async fn run(
        self,
        listeners: Listeners,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let Self {
            shared,
            connections,
            fanout,
            acks,
        } = self;
        let stop_node = CancellationToken::new();
        let fanout_tasks = fanout.map(|deps| {
            let (registry, members) = (shared.registry.clone(), shared.members.clone());
            let messages = Fanout::new(registry.clone(), members.clone(), deps.bus.clone());
            let receipts =
                ReceiptFanout::new(registry, members, shared.config.receipts_fanout_members);
            [
                spawn_consumer(&deps, FANOUT_GROUP, &MESSAGE_TOPICS, messages, &stop_node),
                spawn_consumer(&deps, RECEIPT_GROUP, &RECEIPT_TOPICS, receipts, &stop_node),
            ]
        });
        let acks_task = tokio::spawn(acks.run(stop_node.clone()));
        let clock_task = tokio::spawn(shared.clock.clone().run(stop_node.clone()));
        let revocation_task = tokio::spawn(crate::revocation::run(
            shared.hub.clone(),
            shared.registry.cache().clone(),
            Duration::from_secs(shared.config.revalidate_secs.max(1)),
            stop_node.clone(),
        ));
        let (subscribed, on_subscribed) = tokio::sync::oneshot::channel();
        let hub_task = tokio::spawn({
            let (hub, registry, stop) = (
                shared.hub.clone(),
                shared.registry.clone(),
                stop_node.clone(),
            );
            async move { hub.run(registry, stop, subscribed).await }
        });
        // Serve only once deliveries can reach this node.
        tokio::select! {
            _ = on_subscribed => {}
            () = shutdown.cancelled() => {}
        }
        let refresh_task = tokio::spawn(refresh_registry(shared.clone(), stop_node.clone()));
        let router = Router::new()
            .route("/v1/ws", get(upgrade))
            .with_state((shared.clone(), connections.clone()));
        let http_stop = CancellationToken::new();
        let server = tokio::spawn(chatflow_runtime::serve::serve_http(
            listeners.http,
            router,
            http_stop.clone(),
        ));
        shutdown.cancelled().await;
        tracing::info!(connections = shared.hub.connections(), "gateway draining");
        shared.drain.cancel();
        http_stop.cancel();
        connections.close();
        let deadline = Duration::from_secs(shared.config.drain_deadline_secs + 5);
        if tokio::time::timeout(deadline, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the drain deadline");
        }
        stop_node.cancel();
        let _ = tokio::join!(
            hub_task,
            refresh_task,
            acks_task,
            clock_task,
            revocation_task
        );
        for task in fanout_tasks.into_iter().flatten() {
            let _ = task.await;
        }
        server.await.map_err(std::io::Error::other)?
    }
}

/// Runs this node's share of one fan-out consumer group in the background:
/// joining a group can take a rebalance (seconds, longer after a crashed
/// member), and connections must not wait for it — what they miss meanwhile
/// they get from the store on the next message or resume.
fn spawn_consumer<H: chatflow_events::Handler + 'static>(
    deps: &FanoutDeps,
    group: &'static str,
    topics: &[&str],
    handler: H,
    stop: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (bus, stop) = (deps.bus.clone(), stop.clone());
    let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    tokio::spawn(async move {
        let subscription = tokio::select! {
            () = stop.cancelled() => return,
            joined = bus.subscribe(group, &topics) => match joined {
                Ok(subscription) => subscription,
                Err(err) => {
                    tracing::error!(error = %err, group, "cannot join a fan-out group; this node only serves replays");
                    return;
                }
            },
        };
        let policy = chatflow_events::RetryPolicy::default();
        let result = chatflow_events::run_consumer(subscription, bus, handler, policy, stop).await;
        if let Err(err) = result {
            tracing::error!(error = %err, group, "fan-out consumer stopped");
        }
    })
}

/// `GET /v1/ws`: the WebSocket upgrade.
async fn upgrade(
    State((shared, connections)): State<(Arc<Shared>, TaskTracker)>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if shared.drain.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "draining: connect to another node",
        )
            .into_response();
    }
    let token = header_token(&headers);
    let max = shared.config.max_frame_bytes;
    // Frames a little over the limit get a typed `too_large` error; far
    // larger ones are cut off by the WebSocket layer itself.
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(max.saturating_mul(4))
        .max_frame_size(max.saturating_mul(4))
        .on_upgrade(move |socket| {
            connections.track_future(connection::serve(socket, token, shared))
        })
}

/// The `access_token.<jwt>` entry of `Sec-WebSocket-Protocol`, if any.
fn header_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
        .map(str::to_owned)
}

/// Keeps this node's registry entries alive while it holds connections.
async fn refresh_registry(shared: Arc<Shared>, stop: CancellationToken) {
    let every = shared.registry.ttl() / 3;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        for user in shared.hub.users() {
            if let Err(err) = shared.registry.register(&user).await {
                tracing::warn!(error = %err, "cannot refresh the connection registry");
                break;
            }
        }
    }
}
