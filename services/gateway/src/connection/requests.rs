//! A session's read loop: frames in, answers out. The clocks that end a
//! session — idle timeout, token expiry with its refresh window — run on
//! the node's clock, and revocation checks in the node's sweep; this loop
//! only follows the node's drain and the user's typing deadlines.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use futures::stream::SplitStream;
use rand::Rng;
use tokio::time::{Instant, sleep_until};

mod live;

use super::{Conn, Shared, next_text, push, push_error};
use crate::delivery::{Positions, ResumeCommand};
use crate::metrics;
use crate::ports::{Caller, PortError, Submit};
use crate::protocol::{ClientFrame, ErrorCode, ServerFrame, close, decode_client_frame};
use crate::queue::Outbound;

/// One authenticated session's request handling.
pub struct Session {
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    /// Acks, reads, typing and the presence watch.
    live: live::LiveState,
}

impl Session {
    /// A session on `conn`; `positions` are what its delivery delivered.
    pub fn new(conn: Arc<Conn>, shared: Arc<Shared>, positions: Positions) -> Self {
        Self {
            conn,
            shared,
            live: live::LiveState::new(positions),
        }
    }

    fn caller(&self) -> &Caller {
        &self.conn.caller
    }

    fn out(&self) -> &Outbound {
        &self.conn.out
    }

    /// Reads until the client leaves, something closes the session, or the
    /// node's drain deadline passes.
    pub async fn read_loop(&mut self, stream: &mut SplitStream<WebSocket>) {
        let mut drain_deadline: Option<Instant> = None;
        loop {
            let deadline = match (drain_deadline, self.live.typing_deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                biased;
                () = self.conn.closer.token().cancelled() => return,
                () = self.shared.drain.cancelled(), if drain_deadline.is_none() => {
                    drain_deadline = Some(self.start_drain());
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    if drain_deadline.is_some_and(|d| d <= Instant::now()) {
                        self.conn.closer.close(close::GOING_AWAY, "server restarting: reconnect and resume");
                        return;
                    }
                    self.typing_expired();
                }
                next = next_text(stream) => match next {
                    None => return,
                    Some(Err(reason)) => {
                        self.conn.heard();
                        metrics_in("invalid");
                        push_error(self.out(), None, ErrorCode::InvalidFrame, reason);
                    }
                    Some(Ok(text)) => {
                        self.conn.heard();
                        // Boxed: an idle session's future stays small.
                        Box::pin(self.on_text(&text)).await;
                    }
                },
            }
        }
    }

    async fn on_text(&mut self, text: &str) {
        let frame = match decode_client_frame(text, &self.shared.limits()) {
            Ok(frame) => frame,
            Err(err) => {
                metrics_in("invalid");
                push_error(self.out(), err.id.as_deref(), err.code, &err.message);
                return;
            }
        };
        metrics_in(frame.kind());
        match frame {
            ClientFrame::Hello(hello) => push_error(
                self.out(),
                Some(&hello.id),
                ErrorCode::InvalidFrame,
                "already said hello",
            ),
            ClientFrame::Resume { id, positions } => {
                if !self.conn.inbox.resume(ResumeCommand {
                    id: id.clone(),
                    positions,
                }) {
                    let err = PortError::unavailable("too many resumes in flight");
                    self.answer_error(&id, err);
                }
            }
            ClientFrame::Send(send) => {
                let request = Submit::Send {
                    conversation_id: send.conversation_id.clone(),
                    client_msg_id: send.client_msg_id.clone(),
                    body: send.body(),
                };
                self.submit(&send.id, request).await;
            }
            ClientFrame::Edit(edit) => {
                let request = Submit::Edit {
                    conversation_id: edit.conversation_id,
                    client_msg_id: edit.client_msg_id,
                    target_seq: edit.target_seq,
                    text: edit.text,
                };
                self.submit(&edit.id, request).await;
            }
            ClientFrame::Delete(delete) => {
                let request = Submit::Delete {
                    conversation_id: delete.conversation_id,
                    client_msg_id: delete.client_msg_id,
                    target_seq: delete.target_seq,
                };
                self.submit(&delete.id, request).await;
            }
            ClientFrame::React(react) => {
                let request = Submit::React {
                    conversation_id: react.conversation_id,
                    client_msg_id: react.client_msg_id,
                    target_seq: react.target_seq,
                    emoji: react.emoji,
                    remove: react.remove,
                };
                self.submit(&react.id, request).await;
            }
            ClientFrame::Ack(ack) => self.on_ack(&ack),
            ClientFrame::Read(read) => self.on_read(read).await,
            ClientFrame::Watch(watch) => self.on_watch(watch).await,
            ClientFrame::Presence { status } => self.on_presence(status),
            ClientFrame::Typing(typing) => self.on_typing(&typing),
            ClientFrame::Refresh { id, token } => self.refresh(&id, &token).await,
            ClientFrame::Ping { id } => push(self.out(), &ServerFrame::Pong { id }),
        }
    }

    async fn submit(&mut self, id: &str, request: Submit) {
        self.conn.touch();
        match self.shared.port.submit(self.caller(), request).await {
            Ok(stored) => push(
                self.out(),
                &ServerFrame::Ack {
                    id: id.to_owned(),
                    conversation_id: stored.conversation_id,
                    seq: stored.seq,
                    server_ts: stored.server_ts,
                    client_msg_id: stored.client_msg_id,
                    duplicate: stored.duplicate,
                },
            ),
            Err(err) => self.answer_error(id, err),
        }
    }

    pub(super) fn answer_error(&self, id: &str, err: PortError) {
        push(
            self.out(),
            &ServerFrame::Error {
                id: Some(id.to_owned()),
                code: err.code,
                message: err.message,
                retriable: err.retriable,
                retry_after_ms: err.retry_after_ms,
            },
        );
    }

    /// Accepts a new token of the same user and session.
    async fn refresh(&mut self, id: &str, token: &str) {
        match self.shared.verifier.verify(token).await {
            Ok(user)
                if user.user_id == self.caller().user_id
                    && user.session_id == self.caller().session_id =>
            {
                let issued_at = crate::revocation::issued_at(token).unwrap_or(0);
                self.conn.refreshed(issued_at, user.expires_at);
                push(
                    self.out(),
                    &ServerFrame::Refreshed {
                        id: id.to_owned(),
                        expires_at: user.expires_at,
                    },
                );
            }
            Ok(_) => push_error(
                self.out(),
                Some(id),
                ErrorCode::Unauthenticated,
                "the token belongs to another session",
            ),
            Err(err) => push_error(
                self.out(),
                Some(id),
                ErrorCode::Unauthenticated,
                &err.to_string(),
            ),
        }
    }

    /// Tells the client to come back after a jittered delay; returns the deadline.
    fn start_drain(&self) -> Instant {
        let spread = self.shared.config.drain_spread_ms.max(1);
        let delay = rand::rng().random_range(0..spread);
        push(
            self.out(),
            &ServerFrame::Drain {
                reconnect_after_ms: delay,
            },
        );
        Instant::now() + Duration::from_secs(self.shared.config.drain_deadline_secs)
    }
}

fn metrics_in(kind: &'static str) {
    ::metrics::counter!(metrics::FRAMES_IN, "type" => kind).increment(1);
}
