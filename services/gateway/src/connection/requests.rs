//! A session's read loop: frames in, answers out, and the clocks that end
//! a session — idle timeout, token expiry with its refresh window, periodic
//! revocation checks, and the node's drain.

use std::time::Duration;

use axum::extract::ws::WebSocket;
use chatflow_authn::AuthenticatedUser;
use futures::stream::SplitStream;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

mod live;

use super::{Closer, Shared, auth_close, next_text, push, push_error};
use crate::delivery::{Positions, ResumeCommand};
use crate::metrics;
use crate::ports::{Caller, PortError, Submit};
use crate::protocol::{ClientFrame, ErrorCode, ServerFrame, close, decode_client_frame};
use crate::queue::Outbound;

/// One authenticated session's request handling.
pub struct Session {
    caller: Caller,
    user: AuthenticatedUser,
    /// The token the session currently runs on, checked again periodically.
    token: String,
    shared: Shared,
    out: Outbound,
    closer: Closer,
    resumes: mpsc::Sender<ResumeCommand>,
    /// Set once the token expired: the end of its refresh window.
    refresh_deadline: Option<Instant>,
    /// Presence, typing, acks and reads.
    live: live::LiveState,
}

impl Session {
    /// A session for `user`, answering through `out`.
    pub fn new(
        caller: Caller,
        (user, token): (AuthenticatedUser, String),
        shared: Shared,
        (out, closer): (Outbound, Closer),
        (resumes, positions): (mpsc::Sender<ResumeCommand>, Positions),
    ) -> Self {
        let live = live::LiveState::new(&caller, &shared, positions);
        Self {
            caller,
            user,
            token,
            shared,
            out,
            closer,
            resumes,
            refresh_deadline: None,
            live,
        }
    }

    /// Reads until the client leaves or a clock or signal closes the session.
    pub async fn read_loop(&mut self, stream: &mut SplitStream<WebSocket>) {
        let idle = Duration::from_secs(self.shared.config.idle_timeout_secs);
        let revalidate = Duration::from_secs(self.shared.config.revalidate_secs.max(1));
        let mut idle_at = Instant::now() + idle;
        let mut revalidate_at = Instant::now() + revalidate;
        let mut drain_deadline: Option<Instant> = None;
        loop {
            let expiry = self.expiry_instant();
            let typing_deadline = self.live.typing_deadline();
            let idle_deadline = self.live.idle_deadline();
            tokio::select! {
                biased;
                () = self.closer.token().cancelled() => return,
                () = self.shared.drain.cancelled(), if drain_deadline.is_none() => {
                    drain_deadline = Some(self.start_drain());
                }
                () = sleep_until(drain_deadline.unwrap_or(idle_at)), if drain_deadline.is_some() => {
                    self.closer.close(close::GOING_AWAY, "server restarting: reconnect and resume");
                    return;
                }
                () = sleep_until(idle_at) => {
                    self.closer.close(close::IDLE, "idle timeout");
                    return;
                }
                () = sleep_until(expiry) => {
                    if self.on_expiry() { return; }
                }
                () = sleep_until(typing_deadline.unwrap_or(idle_at)), if typing_deadline.is_some() => {
                    self.typing_expired();
                }
                () = sleep_until(idle_deadline.unwrap_or(idle_at)), if idle_deadline.is_some() => {
                    self.live.went_idle();
                }
                () = sleep_until(revalidate_at) => {
                    revalidate_at = Instant::now() + revalidate;
                    if !self.revalidate().await { return; }
                }
                next = next_text(stream) => match next {
                    None => return,
                    Some(Err(reason)) => {
                        idle_at = Instant::now() + idle;
                        metrics_in("invalid");
                        push_error(&self.out, None, ErrorCode::InvalidFrame, reason);
                    }
                    Some(Ok(text)) => {
                        idle_at = Instant::now() + idle;
                        self.on_text(&text).await;
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
                push_error(&self.out, err.id.as_deref(), err.code, &err.message);
                return;
            }
        };
        metrics_in(frame.kind());
        match frame {
            ClientFrame::Hello(hello) => push_error(
                &self.out,
                Some(&hello.id),
                ErrorCode::InvalidFrame,
                "already said hello",
            ),
            ClientFrame::Resume { id, positions } => {
                if self
                    .resumes
                    .try_send(ResumeCommand {
                        id: id.clone(),
                        positions,
                    })
                    .is_err()
                {
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
            ClientFrame::Ping { id } => push(&self.out, &ServerFrame::Pong { id }),
        }
    }

    async fn submit(&mut self, id: &str, request: Submit) {
        self.live.touch();
        match self.shared.port.submit(&self.caller, request).await {
            Ok(stored) => push(
                &self.out,
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
            &self.out,
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
                if user.user_id == self.user.user_id && user.session_id == self.user.session_id =>
            {
                self.user = user;
                token.clone_into(&mut self.token);
                self.refresh_deadline = None;
                push(
                    &self.out,
                    &ServerFrame::Refreshed {
                        id: id.to_owned(),
                        expires_at: self.user.expires_at,
                    },
                );
            }
            Ok(_) => push_error(
                &self.out,
                Some(id),
                ErrorCode::Unauthenticated,
                "the token belongs to another session",
            ),
            Err(err) => push_error(
                &self.out,
                Some(id),
                ErrorCode::Unauthenticated,
                &err.to_string(),
            ),
        }
    }

    /// When the token expires, or when its refresh window ends.
    fn expiry_instant(&self) -> Instant {
        if let Some(deadline) = self.refresh_deadline {
            return deadline;
        }
        let left = self.user.expires_at - chatflow_runtime::clock::now_secs();
        Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
    }

    /// Opens the refresh window, or closes when it has passed; true when closed.
    fn on_expiry(&mut self) -> bool {
        if self.refresh_deadline.is_some() {
            metrics::auth_failure("expired");
            self.closer
                .close(close::UNAUTHENTICATED, "access token expired");
            return true;
        }
        let window = self.shared.config.refresh_window_secs;
        self.refresh_deadline = Some(Instant::now() + Duration::from_secs(window));
        push(
            &self.out,
            &ServerFrame::TokenExpiring {
                close_in_secs: window,
            },
        );
        false
    }

    /// Checks the session against the revocation list; false when closed.
    async fn revalidate(&self) -> bool {
        match self.shared.verifier.verify(&self.token).await {
            Ok(_) => true,
            Err(err) if matches!(err, chatflow_authn::AuthnError::Revoked) => {
                let (code, reason) = auth_close(&err);
                metrics::auth_failure(reason);
                self.closer.close(code, "session revoked");
                false
            }
            // Expiry has its own clock; an unreachable list keeps the
            // session (checked again soon) rather than dropping everyone.
            Err(err) => {
                tracing::debug!(error = %err, "revocation check failed");
                true
            }
        }
    }

    /// Tells the client to come back after a jittered delay; returns the deadline.
    fn start_drain(&self) -> Instant {
        let spread = self.shared.config.drain_spread_ms.max(1);
        let delay = rand::rng().random_range(0..spread);
        push(
            &self.out,
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
