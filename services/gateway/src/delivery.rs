//! Each connection's delivery: the one place that writes messages to the
//! client, so replay and live traffic meet without a gap or duplicate.
//! Work arrives in the connection's [`Inbox`]; a worker task runs only
//! while there is some, so an idle connection holds no task and no queue.
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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use crate::hub::{Live, LiveMessage};
use crate::metrics;
use crate::ports::{Caller, MessagePort, PortError, ReceiptPort, StoredMessage};
use crate::protocol::{ErrorCode, MessageFrame, ServerFrame};
use crate::queue::{self, Frame, Outbound, Pushed};
use crate::registry::ReceiptDelivery;

/// Live deliveries waiting per connection before it counts as too slow.
pub const LIVE_BUFFER: usize = 1024;
/// Resume requests waiting per connection.
pub const RESUME_BUFFER: usize = 16;

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
        let mut positions = self.0.lock();
        match positions.get_mut(conversation) {
            Some(position) => *position = seq,
            None => {
                positions.insert(conversation.to_owned(), seq);
            }
        }
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
        (page, positions): (u32, Positions),
    ) -> Self {
        Self {
            caller,
            port,
            receipts,
            out,
            page: page.max(1),
            positions,
            reads_shared: None,
        }
    }

    async fn handle(&mut self, work: Work) -> Result<(), Stop> {
        match work {
            Work::Resume(command) => self.resume(command).await,
            Work::Live(Live::Message(message)) => self.on_live(&message).await,
            Work::Live(Live::Receipt(receipt)) => self.on_receipt(&receipt).await,
            Work::Live(Live::ReadsShared(shared)) => {
                self.reads_shared = Some(shared);
                Ok(())
            }
            Work::Live(Live::Resync) => self.resync().await,
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

    async fn on_live(&mut self, delivery: &LiveMessage) -> Result<(), Stop> {
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
        self.deliver_frame(conversation, delivery.seq, delivery.frame.clone())
    }

    /// Delivers a live message without waiting, if no gap is in the way.
    fn in_order(&mut self, message: &LiveMessage) -> InOrder {
        match self.positions.get(&message.conversation_id) {
            Some(last) if message.seq <= last => {
                metrics::duplicate_dropped();
                InOrder::Done
            }
            Some(last) if message.seq > last + 1 => InOrder::Gap,
            _ => match self.deliver_frame(
                &message.conversation_id,
                message.seq,
                message.frame.clone(),
            ) {
                Ok(()) => InOrder::Done,
                Err(Stop::Outbound) => InOrder::Stopped,
            },
        }
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
        let frame = queue::encode(&MessageFrame { message: &message }).ok_or(Stop::Outbound)?;
        self.deliver_frame(conversation, seq, frame)
    }

    /// Queues an encoded `message` frame (shared with the other recipients).
    fn deliver_frame(&mut self, conversation: &str, seq: u64, frame: Frame) -> Result<(), Stop> {
        Self::queued(self.out.push(frame))?;
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
        Self::queued(self.out.push_frame(frame))
    }

    fn queued(pushed: Pushed) -> Result<(), Stop> {
        match pushed {
            Pushed::Queued => Ok(()),
            Pushed::SlowConsumer | Pushed::Closed => Err(Stop::Outbound),
        }
    }
}

/// What became of a live message offered while the delivery was idle.
enum InOrder {
    /// Queued for the writer (or dropped as a duplicate).
    Done,
    /// The connection is closing.
    Stopped,
    /// Something is missing before it: the worker reads the store first.
    Gap,
}

/// One piece of work for a connection's delivery.
enum Work {
    Resume(ResumeCommand),
    Live(Live),
}

/// A connection's pending deliveries; cheap to clone. Until [`Inbox::start`]
/// everything only queues (so the hello's replay can be queued first).
#[derive(Clone)]
pub struct Inbox {
    inner: Arc<InboxInner>,
}

struct InboxInner {
    state: Mutex<InboxState>,
    stop: CancellationToken,
}

#[derive(Default)]
struct InboxState {
    resumes: VecDeque<ResumeCommand>,
    live: VecDeque<Live>,
    /// The delivery, while no worker runs.
    idle: Option<Delivery>,
}

impl Inbox {
    /// An inbox whose worker stops at `stop`.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            inner: Arc::new(InboxInner {
                state: Mutex::default(),
                stop,
            }),
        }
    }

    /// Hands over the delivery: from now on, work starts a worker.
    pub fn start(&self, delivery: Delivery) {
        let mut state = self.inner.state.lock();
        state.idle = Some(delivery);
        self.wake(state);
    }

    /// Queues a live event; false when the connection is too far behind.
    /// A message that is next in its conversation while nothing else waits
    /// is queued for the writer at once, with no worker (the common case).
    pub fn offer(&self, live: Live) -> bool {
        let mut state = self.inner.state.lock();
        if let Live::Message(message) = &live
            && state.resumes.is_empty()
            && state.live.is_empty()
            && let Some(delivery) = state.idle.as_mut()
        {
            match delivery.in_order(message) {
                InOrder::Done => return true,
                InOrder::Stopped => {
                    // Closing (too slow or gone): nothing more to deliver.
                    state.idle = None;
                    return true;
                }
                InOrder::Gap => {}
            }
        }
        if state.live.len() >= LIVE_BUFFER {
            return false;
        }
        state.live.push_back(live);
        self.wake(state);
        true
    }

    /// Queues a replay (served before live events); false when too many wait.
    pub fn resume(&self, command: ResumeCommand) -> bool {
        let mut state = self.inner.state.lock();
        if state.resumes.len() >= RESUME_BUFFER {
            return false;
        }
        state.resumes.push_back(command);
        self.wake(state);
        true
    }

    /// Starts a worker if there is work and none runs.
    fn wake(&self, mut state: MutexGuard<'_, InboxState>) {
        if state.resumes.is_empty() && state.live.is_empty() {
            return;
        }
        if let Some(delivery) = state.idle.take() {
            drop(state);
            tokio::spawn(self.clone().work(delivery));
        }
    }

    /// Works until the inbox is empty (then parks the delivery and ends),
    /// the connection stops, or the client falls behind.
    async fn work(self, mut delivery: Delivery) {
        loop {
            let next = {
                let mut state = self.inner.state.lock();
                match state.resumes.pop_front() {
                    Some(command) => Work::Resume(command),
                    None => match state.live.pop_front() {
                        Some(live) => Work::Live(live),
                        None => {
                            // Quiet again: give the queues' memory back.
                            state.live = VecDeque::new();
                            state.resumes = VecDeque::new();
                            state.idle = Some(delivery);
                            return;
                        }
                    },
                }
            };
            let step = tokio::select! {
                biased;
                () = self.inner.stop.cancelled() => return,
                step = delivery.handle(next) => step,
            };
            if step.is_err() {
                return;
            }
        }
    }
}
