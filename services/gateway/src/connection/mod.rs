//! One WebSocket connection from upgrade to close.
//!
//! The connection's own task reads frames and answers requests; a writer
//! task owns the socket's sending half ([`writer`]); deliveries
//! ([`crate::delivery`]) are worked off by a task that runs only while
//! there are some. They share the outbound queues, so nothing any of them
//! does can block another connection. Deadlines live on the node's clock
//! ([`crate::clock`]), revocation checks in the node's sweep
//! ([`crate::revocation`]): an idle connection holds no timer.

mod requests;
mod state;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use chatflow_authn::{AuthenticatedUser, AuthnError, TokenVerifier};
use futures::StreamExt;
use futures::stream::SplitStream;
use tokio_util::sync::CancellationToken;

pub use state::Conn;
pub use writer::Closer;

use crate::acks::AckBatcher;
use crate::clock::Clock;
use crate::delivery::{Delivery, Inbox, Positions, ResumeCommand};
use crate::hub::Hub;
use crate::metrics;
use crate::ports::{Caller, MemberPort, MessagePort, PresencePort, ReceiptPort};
use crate::protocol::{
    ClientFrame, ErrorCode, Limits, PROTOCOL_VERSION, ServerFrame, Welcome, close,
    decode_client_frame,
};
use crate::queue::{self, Outbound, QueueLimits};
use crate::registry::Registry;
use crate::settings::Config;
use crate::typing::TypingRelay;
use state::{Durations, HelloTimer};

/// What every connection of a node shares; cheap to clone.
#[derive(Clone)]
pub struct Shared {
    /// Settings.
    pub config: Arc<Config>,
    /// Checks access tokens.
    pub verifier: TokenVerifier,
    /// The message router.
    pub port: Arc<dyn MessagePort>,
    /// Conversation membership.
    pub members: Arc<dyn MemberPort>,
    /// Delivered and read marks.
    pub receipts: Arc<dyn ReceiptPort>,
    /// Presence.
    pub presence: Arc<dyn PresencePort>,
    /// Collects delivery acks for the receipts service.
    pub acks: AckBatcher,
    /// Relays typing indicators.
    pub typing: TypingRelay,
    /// This node's connections.
    pub hub: Hub,
    /// Where users' connections are recorded.
    pub registry: Registry,
    /// Cancelled when the node starts draining.
    pub drain: CancellationToken,
    /// Every connection's deadlines.
    pub clock: Clock,
}

impl Shared {
    fn limits(&self) -> Limits {
        Limits {
            max_frame_bytes: self.config.max_frame_bytes,
            max_resume_conversations: self.config.max_resume_conversations,
        }
    }
}

/// Serves one upgraded socket; `header_token` came in `Sec-WebSocket-Protocol`.
pub async fn serve(socket: WebSocket, header_token: Option<String>, shared: Arc<Shared>) {
    let (sink, mut stream) = socket.split();
    let closer = Closer::default();
    let limits = QueueLimits {
        messages: shared.config.send_queue,
        ephemeral: shared.config.ephemeral_queue,
    };
    let (out, inbound) = queue::channel(limits, closer.token().clone());
    let writer = tokio::spawn(writer::write_loop(sink, inbound, closer.clone()));
    let wait = Duration::from_secs(shared.config.hello_timeout_secs);
    let hello_timer = HelloTimer::arm(&shared.clock, closer.clone(), wait);
    let handshake = tokio::select! {
        biased;
        () = closer.token().cancelled() => None,
        handshake = handshake(&mut stream, header_token, &shared, &out, &closer) => handshake,
    };
    drop(hello_timer);
    if let Some(handshake) = handshake {
        run_session(&mut stream, handshake, &shared, out, &closer).await;
    }
    // Closing (if nobody did yet) lets the writer flush and send the close frame.
    closer.close(close::NORMAL, "bye");
    let _ = writer.await;
}

/// A successful `hello`.
struct Handshake {
    user: AuthenticatedUser,
    issued_at: i64,
    hello_id: String,
    resume: std::collections::BTreeMap<String, u64>,
}

/// Waits for `hello` and authenticates it; on failure answers and closes.
/// (The node's clock closes a connection that never says it.)
async fn handshake(
    stream: &mut SplitStream<WebSocket>,
    header_token: Option<String>,
    shared: &Shared,
    out: &Outbound,
    closer: &Closer,
) -> Option<Handshake> {
    let first = match next_text(stream).await {
        Some(Ok(text)) => text,
        Some(Err(reason)) => {
            closer.close(close::PROTOCOL_ERROR, reason);
            return None;
        }
        None => return None,
    };
    let hello = match decode_client_frame(&first, &shared.limits()) {
        Ok(ClientFrame::Hello(hello)) => hello,
        Ok(other) => {
            push_error(
                out,
                other.id(),
                ErrorCode::NotReady,
                "the first frame must be `hello`",
            );
            closer.close(close::PROTOCOL_ERROR, "expected hello");
            return None;
        }
        Err(err) => {
            push_error(out, err.id.as_deref(), err.code, &err.message);
            closer.close(close::PROTOCOL_ERROR, "bad hello");
            return None;
        }
    };
    let Some(token) = header_token.or(hello.token) else {
        metrics::auth_failure("missing");
        push_error(
            out,
            Some(&hello.id),
            ErrorCode::Unauthenticated,
            "no access token",
        );
        closer.close(close::UNAUTHENTICATED, "no access token");
        return None;
    };
    match shared.verifier.verify(&token).await {
        Ok(user) => Some(Handshake {
            user,
            // Unreadable cannot happen for a verified token; 0 would make
            // any revocation cutoff of the user end the session (fail closed).
            issued_at: crate::revocation::issued_at(&token).unwrap_or(0),
            hello_id: hello.id,
            resume: hello.resume,
        }),
        Err(err) => {
            let (code, reason) = auth_close(&err);
            metrics::auth_failure(reason);
            push_error(
                out,
                Some(&hello.id),
                ErrorCode::Unauthenticated,
                &err.to_string(),
            );
            closer.close(code, err.to_string());
            None
        }
    }
}

/// The session after `welcome`, until the connection closes.
async fn run_session(
    stream: &mut SplitStream<WebSocket>,
    handshake: Handshake,
    shared: &Arc<Shared>,
    out: Outbound,
    closer: &Closer,
) {
    let Handshake {
        user,
        issued_at,
        hello_id,
        resume,
    } = handshake;
    let caller = Caller {
        user_id: user.user_id,
        session_id: user.session_id,
        device_id: user.device_id,
    };
    let config = &shared.config;
    let durations = Durations {
        idle_secs: config.idle_timeout_secs,
        refresh_window: config.refresh_window_secs,
        away_after: config.away_after_secs,
    };
    let inbox = Inbox::new(closer.token().clone());
    let device = shared.presence.connect(&caller);
    let conn = Arc::new(Conn::new(
        caller.clone(),
        (issued_at, user.expires_at),
        (out.clone(), closer.clone(), inbox.clone()),
        (shared.clock.clone(), durations),
        device,
    ));
    // Queued before anything live can arrive, so the replay comes before
    // any live message (the worker prefers resumes).
    if !resume.is_empty() {
        inbox.resume(ResumeCommand {
            id: hello_id.clone(),
            positions: resume,
        });
    }
    let (slot, first) = shared.hub.join(conn.clone());
    if first && let Err(err) = shared.registry.register(&caller.user_id).await {
        tracing::warn!(error = %err, "cannot register the connection; live delivery may lag");
    }
    ::metrics::gauge!(metrics::CONNECTIONS).increment(1.0);
    // Registered before `welcome`, so anything stored after the client sees
    // it reaches this node live.
    out.push_frame(&ServerFrame::Welcome(Welcome {
        id: hello_id,
        protocol: PROTOCOL_VERSION,
        user_id: caller.user_id.clone(),
        session_id: caller.session_id.clone(),
        heartbeat_secs: config.heartbeat_secs,
        max_frame_bytes: config.max_frame_bytes,
    }));
    let positions = Positions::default();
    inbox.start(Delivery::new(
        caller.clone(),
        (shared.port.clone(), shared.receipts.clone()),
        out,
        (config.replay_page, positions.clone()),
    ));
    conn.watch();
    let mut session = requests::Session::new(conn.clone(), shared.clone(), positions);
    session.read_loop(stream).await;
    session.end();
    closer.close(close::NORMAL, "bye");
    ::metrics::gauge!(metrics::CONNECTIONS).decrement(1.0);
    if slot.leave()
        && let Err(err) = shared.registry.unregister(&caller.user_id).await
    {
        tracing::debug!(error = %err, "cannot unregister; the entry expires by itself");
    }
}

/// The next text frame; `Err` for a binary frame; `None` at close or error.
async fn next_text(stream: &mut SplitStream<WebSocket>) -> Option<Result<Utf8Bytes, &'static str>> {
    loop {
        match stream.next().await? {
            Ok(Message::Text(text)) => return Some(Ok(text)),
            Ok(Message::Binary(_)) => return Some(Err("binary frames are not supported")),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => return None,
        }
    }
}

/// The close code and metric label for a failed token check.
fn auth_close(err: &AuthnError) -> (u16, &'static str) {
    match err {
        AuthnError::Revoked => (close::REVOKED, "revoked"),
        AuthnError::Expired => (close::UNAUTHENTICATED, "expired"),
        _ => (close::UNAUTHENTICATED, "invalid"),
    }
}

fn push(out: &Outbound, frame: &ServerFrame) {
    out.push_frame(frame);
}

fn push_error(out: &Outbound, id: Option<&str>, code: ErrorCode, message: &str) {
    push(
        out,
        &ServerFrame::Error {
            id: id.map(str::to_owned),
            code,
            message: message.to_owned(),
            retriable: false,
            retry_after_ms: None,
        },
    );
}
