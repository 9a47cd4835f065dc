//! `TestGateway`: a gateway node on port 0 over fresh backends, with
//! `LocalRouter`, a minimal in-test message store standing in for the
//! message router (whose own suites test storage and ordering): it keeps each
//! conversation's log in memory and fans new messages out through the real
//! connection registry, so these tests exercise the gateway exactly as the
//! fleet drives it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chatflow_cache::CacheRef;
use chatflow_gateway::ports::{
    Caller, MemberPort, MessagePort, PortError, Stored, StoredMessage, Submit,
};
use chatflow_gateway::protocol::ErrorCode;
use chatflow_gateway::registry::{NodeDelivery, Registry};
use chatflow_gateway::{Config, Deps, GatewayService, Listeners};
use chatflow_testkit::tokens::TestIssuer;
use chatflow_testkit::{BackendKind, TestBackends};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::fakes::{FakePresence, FakeReceipts};

pub const ALICE: &str = "0190e4c8-7b1a-7000-8000-00000000a11c";
pub const BOB: &str = "0190e4c8-7b1a-7000-8000-0000000000b0";
pub const EVE: &str = "0190e4c8-7b1a-7000-8000-0000000000e5";
/// A conversation of Alice and Bob (Eve is not a member).
pub const CHAT: &str = "g_0190e4c87b1a70008000000000000001";

/// The in-test stand-in for the message router.
pub struct LocalRouter {
    members: HashMap<String, Vec<String>>,
    log: Mutex<HashMap<String, Vec<Value>>>,
    sent: Mutex<HashMap<(String, String, String), Stored>>,
    registry: Registry,
    /// While set, stored messages are not fanned out (a lost delivery).
    pub hold_fanout: AtomicBool,
}

impl LocalRouter {
    fn new(cache: CacheRef) -> Self {
        let registry = Registry::new(cache, "router".into(), std::time::Duration::from_secs(60));
        Self {
            members: HashMap::from([(CHAT.to_owned(), vec![ALICE.to_owned(), BOB.to_owned()])]),
            log: Mutex::default(),
            sent: Mutex::default(),
            registry,
            hold_fanout: AtomicBool::new(false),
        }
    }

    fn is_member(&self, user: &str, conversation: &str) -> bool {
        self.members
            .get(conversation)
            .is_some_and(|m| m.iter().any(|u| u == user))
    }

    /// Stores a text message from `sender` directly (as another device would).
    pub async fn store(&self, sender: &str, text: &str) -> u64 {
        let caller = Caller {
            user_id: sender.into(),
            session_id: "s".into(),
            device_id: "d".into(),
        };
        let request = Submit::Send {
            conversation_id: CHAT.into(),
            client_msg_id: uuid::Uuid::now_v7().simple().to_string(),
            body: chatflow_gateway::protocol::MessageBody {
                text: text.into(),
                ..Default::default()
            },
        };
        self.submit(&caller, request).await.unwrap().seq
    }

    /// Fans message `seq` out again, as a redelivery would.
    pub async fn fan_out_again(&self, seq: u64) {
        let message = self.log.lock()[CHAT][seq as usize - 1].clone();
        self.fan_out(CHAT, seq, message).await;
    }

    async fn fan_out(&self, conversation: &str, seq: u64, message: Value) {
        for user in &self.members[conversation] {
            for node in self.registry.nodes_of(user).await.unwrap() {
                let delivery = NodeDelivery {
                    conversation_id: conversation.to_owned(),
                    seq,
                    recipients: vec![user.clone()],
                    message: message.clone(),
                };
                self.registry.deliver(&node, &delivery).await.unwrap();
            }
        }
    }
}

#[async_trait]
impl MessagePort for LocalRouter {
    async fn submit(&self, caller: &Caller, request: Submit) -> Result<Stored, PortError> {
        let Submit::Send {
            conversation_id,
            client_msg_id,
            body,
        } = request
        else {
            return Err(PortError::fatal(
                ErrorCode::Internal,
                "only sends in this test router",
            ));
        };
        if !self.is_member(&caller.user_id, &conversation_id) {
            return Err(PortError::fatal(ErrorCode::Forbidden, "not a member"));
        }
        let key = (
            conversation_id.clone(),
            caller.user_id.clone(),
            client_msg_id.clone(),
        );
        if let Some(stored) = self.sent.lock().get(&key) {
            return Ok(Stored {
                duplicate: true,
                ..stored.clone()
            });
        }
        let (seq, message) = {
            let mut log = self.log.lock();
            let messages = log.entry(conversation_id.clone()).or_default();
            let seq = messages.len() as u64 + 1;
            let message = json!({"conversation_id": conversation_id, "seq": seq, "kind": "text",
                "sender_id": caller.user_id, "client_msg_id": client_msg_id, "text": body.text});
            messages.push(message.clone());
            (seq, message)
        };
        let stored = Stored {
            conversation_id: conversation_id.clone(),
            seq,
            server_ts: 1,
            client_msg_id,
            duplicate: false,
        };
        self.sent.lock().insert(key, stored.clone());
        if !self.hold_fanout.load(Ordering::SeqCst) {
            self.fan_out(&conversation_id, seq, message).await;
        }
        Ok(stored)
    }

    async fn history(
        &self,
        caller: &Caller,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, PortError> {
        if !self.is_member(&caller.user_id, conversation_id) {
            return Err(PortError::fatal(ErrorCode::Forbidden, "not a member"));
        }
        let log = self.log.lock();
        let messages = log
            .get(conversation_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(messages
            .iter()
            .enumerate()
            .map(|(i, m)| StoredMessage {
                seq: i as u64 + 1,
                message: m.clone(),
            })
            .filter(|m| m.seq > after_seq)
            .take(limit as usize)
            .collect())
    }
}

#[async_trait]
impl MemberPort for LocalRouter {
    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, PortError> {
        self.members
            .get(conversation_id)
            .cloned()
            .ok_or_else(|| PortError::fatal(ErrorCode::NotFound, "no such conversation"))
    }
}

/// A running gateway node.
pub struct TestGateway {
    pub ws_url: String,
    pub issuer: TestIssuer,
    pub router: Arc<LocalRouter>,
    pub receipts: Arc<FakeReceipts>,
    pub presence: Arc<FakePresence>,
    pub cache: CacheRef,
    pub stop: CancellationToken,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    _backends: TestBackends,
}

/// Settings for tests: short clocks, small queues where a test needs them.
pub fn test_config() -> Config {
    Config {
        replay_page: 2,
        drain_spread_ms: 500,
        drain_deadline_secs: 1,
        ..Config::default()
    }
}

impl TestGateway {
    pub async fn spawn(kind: BackendKind) -> Self {
        Self::spawn_with(kind, test_config()).await
    }

    pub async fn spawn_with(kind: BackendKind, config: Config) -> Self {
        let backends = TestBackends::new(kind).await;
        let cache = backends.cache().await;
        let issuer = TestIssuer::new();
        let router = Arc::new(LocalRouter::new(cache.clone()));
        let receipts = Arc::new(FakeReceipts::default());
        let presence = Arc::new(FakePresence::default());
        let service = GatewayService::build(
            config,
            Deps {
                cache: cache.clone(),
                verifier: issuer.verifier(cache.clone()),
                messages: router.clone(),
                members: router.clone(),
                receipts: receipts.clone(),
                presence: presence.clone(),
                fanout: None,
            },
        );
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_url = format!("ws://{}/v1/ws", http.local_addr().unwrap());
        let stop = CancellationToken::new();
        let task = tokio::spawn(service.run(Listeners { http }, stop.clone()));
        Self {
            ws_url,
            issuer,
            router,
            receipts,
            presence,
            cache,
            stop,
            task,
            _backends: backends,
        }
    }

    pub fn token(&self, user: &str) -> String {
        self.issuer.token(user, &[])
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(15), self.task)
            .await
            .expect("gateway did not stop")
            .unwrap()
            .unwrap();
    }
}
