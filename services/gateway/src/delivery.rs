//! Each connection's delivery task: the one place that writes messages to
//! the client, so replay and live traffic meet without a gap or duplicate.
//!
//! It keeps, per conversation the device follows, the last `seq` delivered.
//! A live message at `last + 1` goes out at once; one at or below `last` is a
//! duplicate and is dropped; one further ahead means something was missed
//! (a lost pub/sub delivery, or live traffic that raced a replay), so the
//! gap is read from the message store first. Conversations the device did
//! not name in a resume are followed from the first live message seen.
//!
//! Receipt changes pass through here too, so each connection shows its user
//! only what privacy allows: another member's read mark only when both that
//! member and this user share read receipts; unread counts only to the
//! user's own devices. After a replay, the conversation's receipts follow.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::hub::Live;
use crate::metrics;
use crate::ports::{Caller, MessagePort, PortError, ReceiptPort, StoredMessage};
use crate::protocol::{ErrorCode, ServerFrame};
use crate::queue::{Outbound, Pushed};
use crate::registry::{NodeDelivery, ReceiptDelivery};

/// Asks the delivery task to replay conversations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeCommand {
    /// The request id (`hello` or `resume`) to answer with `replayed`.
    pub id: String,
    /// Last `seq` the device has, by conversation.
    pub positions: BTreeMap<String, u64>,
}

/// Per conversation, the last `seq` a connection delivered; shared with
/// the connection's reader, which accepts acks only up to it.
#[derive(Debug, Clone, Default)]
pub struct Positions(Arc<Mutex<HashMap<String, u64>>>);

impl Positions {
    /// The last `seq` delivered in `conversation`, if followed.
    pub fn get(&self, conversation: &str) -> Option<u64> {
        self.0.lock().get(conversation).copied()
    }

    fn set(&self, conversation: &str, seq: u64) {
        self.0.lock().insert(conversation.to_owned(), seq);
    }

    fn remove(&self, conversation: &str) {
        self.0.lock().remove(conversation);
    }

    fn followed(&self) -> Vec<String> {
        self.0.lock().keys().cloned().collect()
    }
}

/// The state of one connection's delivery.
pub struct Delivery {
    caller: Caller,
    port: Arc<dyn MessagePort>,
    receipts: Arc<dyn ReceiptPort>,
    out: Outbound,
    page: u32,
    positions: Positions,
    /// Whether this user shares read receipts; `None` until first needed.
    reads_shared: Option<bool>,
}

/// Why a delivery task stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The client cannot keep up or is gone.
    Outbound,
}

impl Delivery {
    /// A task for `caller` reading history from `port`, `page` messages at
    /// a time, and receipts from `receipts`.
    pub fn new(
        caller: Caller,
        (port, receipts): (Arc<dyn MessagePort>, Arc<dyn ReceiptPort>),
        out: Outbound,
        page: u32,
    ) -> Self {
        Self {
            caller,
            port,
            receipts,
            out,
            page: page.max(1),
            positions: Positions::default(),
            reads_shared: None,
        }
    }

    /// The positions this task delivered, shared.
    pub fn positions(&self) -> Positions {
        self.positions.clone()
    }

    /// Runs until `stop`, the client falls behind, or both channels close.
    pub async fn run(
        mut self,
        mut live: mpsc::Receiver<Live>,
        mut resumes: mpsc::Receiver<ResumeCommand>,
        stop: CancellationToken,
    ) {
        loop {
            let step = tokio::select! {
                biased;
                () = stop.cancelled() => return,
                Some(command) = resumes.recv() => self.resume(command).await,
                Some(event) = live.recv() => match event {
                    Live::Message(delivery) => self.on_live(&delivery).await,
                    Live::Receipt(receipt) => self.on_receipt(&receipt).await,
                    Live::ReadsShared(shared) => {
                        self.reads_shared = Some(shared);
                        Ok(())
                    }
                    Live::Resync => self.resync().await,
                },
                else => return,
            };
            if step.is_err() {
                return;
            }
        }
    }

    async fn resume(&mut self, command: ResumeCommand) -> Result<(), Stop> {
        let mut replayed = Vec::new();
        for (conversation, seq) in command.positions {
            // Never behind what this connection already delivered: a resume
            // must not send anything twice.
            let position = self
                .positions
                .get(&conversation)
                .map_or(seq, |p| p.max(seq));
            self.positions.set(&conversation, position);
            match self.catch_up(&conversation).await? {
                Ok(()) => {
                    metrics::resume_replay();
                    let seq = self.positions.get(&conversation).unwrap_or(seq);
                    self.push(&ServerFrame::Replayed {
                        id: command.id.clone(),
                        conversation_id: conversation.clone(),
                        seq,
                    })?;
                    replayed.push(conversation);
                }
                Err(err) => self.push_error(Some(command.id.clone()), &conversation, err)?,
            }
        }
        self.send_receipts(replayed).await
    }

    /// After a replay: where every member is in those conversations, and
    /// the user's unread counts. Receipts are a courtesy next to messages,
    /// so a failure here is logged, not fatal.
    async fn send_receipts(&mut self, conversations: Vec<String>) -> Result<(), Stop> {
        if conversations.is_empty() {
            return Ok(());
        }
        let snapshot = match self
            .receipts
            .snapshot(&self.caller.user_id, conversations)
            .await
        {
            Ok(snapshot) => snapshot,
            Err(err) => {
                tracing::debug!(error = %err, "no receipts after the replay");
                return Ok(());
            }
        };
        self.reads_shared = Some(snapshot.reads_shared);
        for receipts in snapshot.conversations {
            self.push(&ServerFrame::Receipts {
                conversation_id: receipts.conversation_id,
                members: receipts.members,
                unread: receipts.unread,
            })?;
        }
        Ok(())
    }

    /// A member's marks moved: show what this user may see of it.
    async fn on_receipt(&mut self, receipt: &ReceiptDelivery) -> Result<(), Stop> {
        let mut update = receipt.update.clone();
        if update.marks.user_id != self.caller.user_id {
            update.unread = None;
            update.total_unread = None;
            if !(receipt.read_shared && self.reads_shared().await) {
                update.marks.read_seq = None;
            }
        }
        self.push(&ServerFrame::Receipt(update))
    }

    /// Whether this user shares read receipts; unknown counts as "no" (the
    /// private answer) and is asked again next time.
    async fn reads_shared(&mut self) -> bool {
        if let Some(shared) = self.reads_shared {
            return shared;
        }
        match self.receipts.reads_shared(&self.caller.user_id).await {
            Ok(shared) => {
                self.reads_shared = Some(shared);
                shared
            }
            Err(err) => {
                tracing::debug!(error = %err, "receipt settings unavailable");
                false
            }
        }
    }

    async fn on_live(&mut self, delivery: &NodeDelivery) -> Result<(), Stop> {
        let conversation = &delivery.conversation_id;
        match self.positions.get(conversation) {
            Some(last) if delivery.seq <= last => {
                metrics::duplicate_dropped();
                return Ok(());
            }
            Some(last) if delivery.seq > last + 1 => {
                metrics::gap_filled();
                if let Err(err) = self.catch_up(conversation).await? {
                    return self.push_error(None, conversation, err);
                }
                if self
                    .positions
                    .get(conversation)
                    .is_some_and(|l| delivery.seq <= l)
                {
                    return Ok(());
                }
            }
            _ => {}
        }
        self.deliver(conversation, delivery.seq, delivery.message.clone())
    }

    async fn resync(&mut self) -> Result<(), Stop> {
        let followed = self.positions.followed();
        for conversation in followed {
            if let Err(err) = self.catch_up(&conversation).await? {
                self.push_error(None, &conversation, err)?;
            }
        }
        Ok(())
    }

    /// Delivers everything stored after the known position, page by page.
    /// The outer error stops the task; the inner one is the store's answer.
    async fn catch_up(&mut self, conversation: &str) -> Result<Result<(), PortError>, Stop> {
        loop {
            let after = self.positions.get(conversation).unwrap_or(0);
            let page = match self
                .port
                .history(&self.caller, conversation, after, self.page)
                .await
            {
                Ok(page) => page,
                Err(err) => return Ok(Err(err)),
            };
            let full = page.len() >= self.page as usize;
            for StoredMessage { seq, message } in page {
                if seq > after {
                    self.deliver(conversation, seq, message)?;
                }
            }
            if !full {
                return Ok(Ok(()));
            }
        }
    }

    fn deliver(
        &mut self,
        conversation: &str,
        seq: u64,
        message: serde_json::Value,
    ) -> Result<(), Stop> {
        self.push(&ServerFrame::Message { message })?;
        self.positions.set(conversation, seq);
        metrics::delivered();
        Ok(())
    }

    fn push_error(
        &mut self,
        id: Option<String>,
        conversation: &str,
        err: PortError,
    ) -> Result<(), Stop> {
        if err.code == ErrorCode::Forbidden {
            // No longer a member: stop following it.
            self.positions.remove(conversation);
        }
        self.push(&ServerFrame::Error {
            id,
            code: err.code,
            message: format!("{conversation}: {}", err.message),
            retriable: err.retriable,
            retry_after_ms: err.retry_after_ms,
        })
    }

    fn push(&self, frame: &ServerFrame) -> Result<(), Stop> {
        let text = serde_json::to_string(frame).map_err(|_| Stop::Outbound)?;
        match self.out.push(text) {
            Pushed::Queued => Ok(()),
            Pushed::SlowConsumer | Pushed::Closed => Err(Stop::Outbound),
        }
    }
}
