//! In-test stand-ins for the receipts service and presence, recording what
//! the gateway asks of them (their own suites test the real services).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chatflow_gateway::ports::{
    Caller, ConversationReceipts, DeviceSession, MemberMarks, PortError, PresencePort,
    PresenceView, ReadMarked, ReceiptPort, ReceiptSnapshot, Watch,
};
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One `mark_delivered` call: the device and its marks.
pub type DeliveredCall = (String, Vec<(String, u64)>);
/// Presence reports: (user, device, "online" | "away" | "offline").
pub type Reports = Arc<Mutex<Vec<(String, String, &'static str)>>>;

/// Marks kept in memory: (conversation, user) → (delivered, read).
#[derive(Default)]
pub struct FakeReceipts {
    pub marks: Mutex<BTreeMap<(String, String), (u64, u64)>>,
    /// Every `mark_delivered` call: (device, marks).
    pub delivered_calls: Mutex<Vec<DeliveredCall>>,
    pub reads_shared: Mutex<HashMap<String, bool>>,
}

impl FakeReceipts {
    pub fn marks_of(&self, conversation: &str, user: &str) -> (u64, u64) {
        self.marks
            .lock()
            .get(&(conversation.to_owned(), user.to_owned()))
            .copied()
            .unwrap_or_default()
    }
}

#[async_trait]
impl ReceiptPort for FakeReceipts {
    async fn mark_delivered(
        &self,
        caller: &Caller,
        marks: Vec<(String, u64)>,
    ) -> Result<(), PortError> {
        self.delivered_calls
            .lock()
            .push((caller.device_id.clone(), marks.clone()));
        let mut all = self.marks.lock();
        for (conversation, seq) in marks {
            let entry = all
                .entry((conversation, caller.user_id.clone()))
                .or_default();
            entry.0 = entry.0.max(seq);
        }
        Ok(())
    }

    async fn mark_read(
        &self,
        caller: &Caller,
        conversation_id: &str,
        seq: u64,
    ) -> Result<ReadMarked, PortError> {
        let mut all = self.marks.lock();
        let entry = all
            .entry((conversation_id.to_owned(), caller.user_id.clone()))
            .or_default();
        entry.1 = entry.1.max(seq);
        entry.0 = entry.0.max(entry.1);
        Ok(ReadMarked {
            marks: MemberMarks {
                user_id: caller.user_id.clone(),
                delivered_seq: entry.0,
                read_seq: Some(entry.1),
            },
            unread: 0,
        })
    }

    async fn snapshot(
        &self,
        user_id: &str,
        conversations: Vec<String>,
    ) -> Result<ReceiptSnapshot, PortError> {
        let all = self.marks.lock();
        let conversations = conversations
            .into_iter()
            .map(|conversation| ConversationReceipts {
                members: all
                    .iter()
                    .filter(|((c, _), _)| *c == conversation)
                    .map(|((_, user), (delivered, read))| MemberMarks {
                        user_id: user.clone(),
                        delivered_seq: *delivered,
                        read_seq: Some(*read),
                    })
                    .collect(),
                conversation_id: conversation,
                unread: 0,
            })
            .collect();
        Ok(ReceiptSnapshot {
            conversations,
            reads_shared: self
                .reads_shared
                .lock()
                .get(user_id)
                .copied()
                .unwrap_or(true),
        })
    }

    async fn reads_shared(&self, user_id: &str) -> Result<bool, PortError> {
        Ok(self
            .reads_shared
            .lock()
            .get(user_id)
            .copied()
            .unwrap_or(true))
    }
}

/// Presence that records device reports and lets a test push watch updates.
#[derive(Default)]
pub struct FakePresence {
    /// Every report: (user, device, "online" | "away" | "offline").
    pub reports: Reports,
    /// The live watch senders, by viewer.
    pub watchers: Mutex<HashMap<String, mpsc::Sender<PresenceView>>>,
}

struct FakeDevice {
    user: String,
    device: String,
    reports: Reports,
}

impl FakeDevice {
    fn report(&self, status: &'static str) {
        self.reports
            .lock()
            .push((self.user.clone(), self.device.clone(), status));
    }
}

impl DeviceSession for FakeDevice {
    fn set_away(&self, away: bool) {
        self.report(if away { "away" } else { "online" });
    }

    fn touch(&self) {}
}

impl Drop for FakeDevice {
    fn drop(&mut self) {
        self.report("offline");
    }
}

#[async_trait]
impl PresencePort for FakePresence {
    fn connect(&self, caller: &Caller) -> Box<dyn DeviceSession> {
        let device = FakeDevice {
            user: caller.user_id.clone(),
            device: caller.device_id.clone(),
            reports: self.reports.clone(),
        };
        device.report("online");
        Box::new(device)
    }

    async fn watch(&self, viewer: &str, users: Vec<String>) -> Result<Watch, PortError> {
        let (tx, updates) = mpsc::channel(4);
        self.watchers.lock().insert(viewer.to_owned(), tx);
        let initial = users
            .into_iter()
            .map(|user_id| PresenceView {
                user_id,
                status: "offline".into(),
                last_seen_ms: None,
            })
            .collect();
        Ok(Watch {
            initial,
            updates,
            guard: Box::new(()),
        })
    }
}
