//! The gateway's live ports on the real services: receipts
//! ([`ReceiptsPort`], in this process or over gRPC) and presence
//! ([`NodePresence`], a presence replica — the presence service's when it
//! runs in this process, otherwise the gateway's own on the same cache).

use async_trait::async_trait;
use chatflow_platform::Reach;
use chatflow_presence::{DeviceGuard, PresenceNode, Status};
use chatflow_receipts::{DeliveredMark, MarkDelivered, MarkRead, ReceiptsApiRef, ReceiptsHandle};

use crate::adapters::port_error;
use crate::ports::{
    Caller, ConversationReceipts, DeviceSession, MemberMarks, PortError, PresencePort,
    PresenceView, ReadMarked, ReceiptPort, ReceiptSnapshot, Watch,
};

/// The receipts service as the gateway's [`ReceiptPort`].
pub struct ReceiptsPort {
    source: Reach<ReceiptsApiRef>,
}

impl ReceiptsPort {
    /// A port on the receipts service found through `source`.
    pub fn new(source: Reach<ReceiptsApiRef>) -> Self {
        Self { source }
    }

    fn client(&self) -> Result<ReceiptsApiRef, PortError> {
        self.source
            .resolve(|ReceiptsHandle(client)| client)
            .ok_or_else(|| PortError::unavailable("no receipts service in this process"))
    }
}

fn marks(m: chatflow_receipts::MemberMarks) -> MemberMarks {
    MemberMarks {
        user_id: m.user_id,
        delivered_seq: m.delivered_seq,
        read_seq: m.read_seq,
    }
}

#[async_trait]
impl ReceiptPort for ReceiptsPort {
    async fn mark_delivered(
        &self,
        caller: &Caller,
        marks: Vec<(String, u64)>,
    ) -> Result<(), PortError> {
        let request = MarkDelivered {
            user_id: caller.user_id.clone(),
            device_id: caller.device_id.clone(),
            marks: marks
                .into_iter()
                .map(|(conversation_id, seq)| DeliveredMark {
                    conversation_id,
                    seq,
                })
                .collect(),
        };
        self.client()?
            .mark_delivered(request)
            .await
            .map(|_| ())
            .map_err(|e| port_error(&e))
    }

    async fn mark_read(
        &self,
        caller: &Caller,
        conversation_id: &str,
        seq: u64,
    ) -> Result<ReadMarked, PortError> {
        let request = MarkRead {
            user_id: caller.user_id.clone(),
            device_id: caller.device_id.clone(),
            conversation_id: conversation_id.to_owned(),
            seq,
        };
        let outcome = self
            .client()?
            .mark_read(request)
            .await
            .map_err(|e| port_error(&e))?;
        Ok(ReadMarked {
            marks: marks(outcome.marks),
            unread: outcome.unread,
        })
    }

    async fn snapshot(
        &self,
        user_id: &str,
        conversations: Vec<String>,
    ) -> Result<ReceiptSnapshot, PortError> {
        let snapshot = self
            .client()?
            .snapshot(user_id, &conversations)
            .await
            .map_err(|e| port_error(&e))?;
        Ok(ReceiptSnapshot {
            conversations: snapshot
                .conversations
                .into_iter()
                .map(|c| ConversationReceipts {
                    conversation_id: c.conversation_id,
                    members: c.members.into_iter().map(marks).collect(),
                    unread: c.unread,
                })
                .collect(),
            reads_shared: snapshot.reads_shared,
        })
    }

    async fn reads_shared(&self, user_id: &str) -> Result<bool, PortError> {
        self.client()?
            .settings(user_id)
            .await
            .map(|s| s.reads_shared)
            .map_err(|e| port_error(&e))
    }
}

/// A presence replica as the gateway's [`PresencePort`].
pub struct NodePresence {
    node: PresenceNode,
}

impl NodePresence {
    /// A port on `node`.
    pub fn new(node: PresenceNode) -> Self {
        Self { node }
    }
}

/// A connected device on the replica.
struct Device(Option<DeviceGuard>);

impl DeviceSession for Device {
    fn set_away(&self, away: bool) {
        if let Some(guard) = &self.0 {
            guard.set_status(if away { Status::Away } else { Status::Online });
        }
    }

    fn touch(&self) {
        if let Some(guard) = &self.0 {
            guard.touch();
        }
    }
}

fn view(v: &chatflow_presence::PresenceView) -> PresenceView {
    let status = match v.status {
        Status::Online => "online",
        Status::Away => "away",
        Status::Offline => "offline",
    };
    PresenceView {
        user_id: v.user_id.clone(),
        status: status.to_owned(),
        last_seen_ms: v.last_seen_ms,
    }
}

#[async_trait]
impl PresencePort for NodePresence {
    fn connect(&self, caller: &Caller) -> Box<dyn DeviceSession> {
        match self.node.connect(&caller.user_id, &caller.device_id) {
            Ok(guard) => Box::new(Device(Some(guard))),
            Err(err) => {
                // Ids come from a verified token; one the replica refuses
                // only costs this device its presence, never its messages.
                tracing::warn!(error = %err, "device not reported to presence");
                Box::new(Device(None))
            }
        }
    }

    async fn watch(&self, viewer: &str, users: Vec<String>) -> Result<Watch, PortError> {
        let mut watch = self
            .node
            .watch(viewer, users)
            .await
            .map_err(|e| port_error(&e))?;
        let initial = watch.initial().iter().map(view).collect();
        // Forward into a small channel of our own: the node's watch coalesces
        // and drops, this only converts, and ends when either side goes.
        let (tx, updates) = tokio::sync::mpsc::channel(16);
        let forward = tokio::spawn(async move {
            while let Some(update) = watch.recv().await {
                if tx.send(view(&update)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Watch {
            initial,
            updates,
            guard: Box::new(AbortOnDrop(forward)),
        })
    }
}

/// Stops a forwarding task (and drops the node's watch) when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
