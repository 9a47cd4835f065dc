//! A session's live extras: delivery acks and read marks (receipts),
//! presence (this device's status and the users it watches) and typing.
//! None of it ever waits on another connection; presence and typing go
//! through the ephemeral queue and are dropped first under load.

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Session;
use crate::delivery::Positions;
use crate::ports::PortError;
use crate::protocol::{
    AckFrame, DeviceStatus, ErrorCode, ReadFrame, ServerFrame, TypingFrame, WatchFrame,
};
use crate::queue::Frame;
use crate::typing::TypingAction;

use super::super::{push, push_error};

/// What a session keeps for its live extras (presence and its away clock
/// live on the connection, [`crate::connection::Conn`]).
pub struct LiveState {
    /// What the delivery delivered: acks and reads are checked against it.
    positions: Positions,
    /// Typing deadlines.
    typing: crate::typing::TypingClock,
    /// The current presence watch: its forwarding task and subscription.
    watch: Option<(JoinHandle<()>, Box<dyn Send + Sync>)>,
}

impl LiveState {
    /// The live state of a new session.
    pub fn new(positions: Positions) -> Self {
        Self {
            positions,
            typing: crate::typing::TypingClock::default(),
            watch: None,
        }
    }

    /// When the next typing indicator of this connection runs out.
    pub fn typing_deadline(&self) -> Option<Instant> {
        self.typing.next_deadline()
    }
}

impl Session {
    /// `ack`: queued for the receipts service, clamped to what this
    /// connection delivered (a device cannot have received more).
    pub(super) fn on_ack(&self, ack: &AckFrame) {
        let Some(delivered) = self.live.positions.get(&ack.conversation_id) else {
            return;
        };
        let seq = ack.seq.min(delivered);
        if seq > 0 {
            self.shared
                .acks
                .ack(self.caller(), &ack.conversation_id, seq);
        }
    }

    /// `read`: the read mark moves (never back) and the answer carries the
    /// unread count left. A `seq` beyond what this connection delivered is
    /// checked against the store: marking unsent messages read is refused.
    pub(super) async fn on_read(&mut self, read: ReadFrame) {
        self.conn.touch();
        let delivered = self.live.positions.get(&read.conversation_id);
        if delivered.is_none_or(|d| read.seq > d)
            && let Err(err) = self.check_exists(&read.conversation_id, read.seq).await
        {
            return self.answer_error(&read.id, err);
        }
        match self
            .shared
            .receipts
            .mark_read(self.caller(), &read.conversation_id, read.seq)
            .await
        {
            Ok(marked) => push(
                self.out(),
                &ServerFrame::Marked {
                    id: read.id,
                    conversation_id: read.conversation_id,
                    read_seq: marked.marks.read_seq.unwrap_or(read.seq),
                    unread: marked.unread,
                },
            ),
            Err(err) => self.answer_error(&read.id, err),
        }
    }

    /// Whether message `seq` of the conversation exists and the caller may read it.
    async fn check_exists(&self, conversation: &str, seq: u64) -> Result<(), PortError> {
        let page = self
            .shared
            .port
            .history(self.caller(), conversation, seq - 1, 1)
            .await?;
        if page.first().is_some_and(|m| m.seq >= seq) {
            Ok(())
        } else {
            Err(PortError::fatal(
                ErrorCode::Conflict,
                format!("{conversation} has no message {seq} yet"),
            ))
        }
    }

    /// `watch`: replaces the presence subscription. The conversation's
    /// members are added when the caller is one of them.
    pub(super) async fn on_watch(&mut self, watch: WatchFrame) {
        if let Some((task, _)) = self.live.watch.take() {
            task.abort();
        }
        let mut users = watch.user_ids;
        if let Some(conversation) = &watch.conversation_id {
            match self.shared.members.members(conversation).await {
                Ok(members) if members.contains(&self.caller().user_id) => users.extend(members),
                Ok(_) => {
                    let err = PortError::fatal(
                        ErrorCode::Forbidden,
                        format!("not a member of {conversation}"),
                    );
                    return self.answer_error(&watch.id, err);
                }
                Err(err) => return self.answer_error(&watch.id, err),
            }
        }
        users.sort();
        users.dedup();
        users.retain(|u| *u != self.caller().user_id);
        if users.len() > crate::protocol::MAX_WATCH_USERS {
            let err = PortError::fatal(
                ErrorCode::InvalidFrame,
                format!(
                    "at most {} users per watch",
                    crate::protocol::MAX_WATCH_USERS
                ),
            );
            return self.answer_error(&watch.id, err);
        }
        let subscription = match self
            .shared
            .presence
            .watch(&self.caller().user_id, users)
            .await
        {
            Ok(subscription) => subscription,
            Err(err) => return self.answer_error(&watch.id, err),
        };
        push(
            self.out(),
            &ServerFrame::Watching {
                id: watch.id,
                users: subscription.initial,
            },
        );
        let (mut updates, out) = (subscription.updates, self.out().clone());
        let task = tokio::spawn(async move {
            while let Some(view) = updates.recv().await {
                if let Ok(text) = serde_json::to_string(&ServerFrame::Presence(view)) {
                    out.push_ephemeral(Frame::from(text));
                }
            }
        });
        self.live.watch = Some((task, subscription.guard));
    }

    /// `presence`: this device is in use, or idle / in the background.
    pub(super) fn on_presence(&mut self, status: DeviceStatus) {
        match status {
            DeviceStatus::Online => self.conn.touch(),
            DeviceStatus::Away => self.conn.set_away(),
        }
    }

    /// `typing`: relayed in the background (never delaying this reader)
    /// unless it is a repeat the others already know of.
    pub(super) fn on_typing(&mut self, typing: &TypingFrame) {
        self.conn.touch();
        let ttl = self.shared.typing.ttl();
        match self
            .live
            .typing
            .on_frame(&typing.conversation_id, typing.active, Instant::now(), ttl)
        {
            TypingAction::Relay => self.relay_typing(typing.conversation_id.clone(), typing.active),
            TypingAction::Absorb => {}
            TypingAction::TooMany => push_error(
                self.out(),
                None,
                ErrorCode::RateLimited,
                "typing in too many conversations at once",
            ),
        }
    }

    /// Typing indicators that ran out without a repeat become stops.
    pub(super) fn typing_expired(&mut self) {
        for conversation in self.live.typing.expired(Instant::now()) {
            self.relay_typing(conversation, false);
        }
    }

    /// The session is over: stop typing everywhere, end the watch.
    pub fn end(&mut self) {
        for conversation in self.live.typing.take_all() {
            self.relay_typing(conversation, false);
        }
        if let Some((task, _)) = self.live.watch.take() {
            task.abort();
        }
    }

    fn relay_typing(&self, conversation: String, active: bool) {
        let (relay, caller, out) = (
            self.shared.typing.clone(),
            self.caller().clone(),
            self.out().clone(),
        );
        tokio::spawn(async move {
            if let Err(err) = relay.relay(&caller, &conversation, active).await {
                let message = format!("typing in {conversation}: {}", err.message);
                push_error(&out, None, err.code, &message);
            }
        });
    }
}
