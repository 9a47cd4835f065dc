//! The gateway's ports on the real services: the message router
//! ([`RouterPort`]) and the groups service ([`GroupsMembers`]), each in this
//! process (found in the platform's handles at call time) or over gRPC.

use async_trait::async_trait;
use chatflow_errors::{ErrorKind, HasKind};
use chatflow_groups_client::{GroupsClientRef, LocalGroups};
use chatflow_message_router::convert::message_to_proto;
use chatflow_message_router::{
    Caller as RouterCaller, DeleteRequest, EditRequest, HistoryRequest, ReactRequest, Reaction,
    RouterClientRef, RouterHandle, SendAck, SendRequest,
};
use chatflow_platform::Reach;

use crate::convert::message_json;
use crate::ports::{Caller, MemberPort, MessagePort, PortError, Stored, StoredMessage, Submit};
use crate::protocol::ErrorCode;

/// The message router as the gateway's [`MessagePort`].
pub struct RouterPort {
    source: Reach<RouterClientRef>,
}

impl RouterPort {
    /// A port on the router found through `source`.
    pub fn new(source: Reach<RouterClientRef>) -> Self {
        Self { source }
    }

    fn client(&self) -> Result<RouterClientRef, PortError> {
        self.source
            .resolve(|RouterHandle(client)| client)
            .ok_or_else(|| PortError::unavailable("no message router in this process"))
    }
}

#[async_trait]
impl MessagePort for RouterPort {
    async fn submit(&self, caller: &Caller, request: Submit) -> Result<Stored, PortError> {
        let router = self.client()?;
        let who = RouterCaller::new(&caller.user_id, &caller.device_id);
        let ack = match request {
            Submit::Send {
                conversation_id,
                client_msg_id,
                body,
            } => {
                router
                    .send(SendRequest {
                        caller: who,
                        conversation_id,
                        client_msg_id,
                        text: body.text,
                        reply_to_seq: body.reply_to,
                        mentions: body.mentions,
                        attachments: body.attachments,
                    })
                    .await
            }
            Submit::Edit {
                conversation_id,
                client_msg_id,
                target_seq,
                text,
            } => {
                router
                    .edit(EditRequest {
                        caller: who,
                        conversation_id,
                        client_msg_id,
                        target_seq,
                        text,
                    })
                    .await
            }
            Submit::Delete {
                conversation_id,
                client_msg_id,
                target_seq,
            } => {
                router
                    .delete(DeleteRequest {
                        caller: who,
                        conversation_id,
                        client_msg_id,
                        target_seq,
                    })
                    .await
            }
            Submit::React {
                conversation_id,
                client_msg_id,
                target_seq,
                emoji,
                remove,
            } => {
                let reaction = Reaction {
                    emoji,
                    removed: remove,
                };
                router
                    .react(ReactRequest {
                        caller: who,
                        conversation_id,
                        client_msg_id,
                        target_seq,
                        reaction,
                    })
                    .await
            }
        };
        ack.map(stored).map_err(|e| port_error(&e))
    }

    async fn history(
        &self,
        caller: &Caller,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, PortError> {
        let page = self
            .client()?
            .history(HistoryRequest {
                caller: RouterCaller::new(&caller.user_id, &caller.device_id),
                conversation_id: conversation_id.to_owned(),
                after_seq: Some(after_seq),
                before_seq: None,
                limit: Some(limit),
            })
            .await
            .map_err(|e| port_error(&e))?;
        Ok(page
            .messages
            .iter()
            .map(|m| StoredMessage {
                seq: m.seq,
                message: message_json(&message_to_proto(m)),
            })
            .collect())
    }
}

/// The groups service as the fan-out's [`MemberPort`].
pub struct GroupsMembers {
    source: Reach<GroupsClientRef>,
}

impl GroupsMembers {
    /// Members read through `source`.
    pub fn new(source: Reach<GroupsClientRef>) -> Self {
        Self { source }
    }
}

#[async_trait]
impl MemberPort for GroupsMembers {
    async fn members(&self, conversation_id: &str) -> Result<Vec<String>, PortError> {
        let client = self
            .source
            .resolve(|LocalGroups(client)| client)
            .ok_or_else(|| PortError::unavailable("no groups service in this process"))?;
        let members = client
            .members(conversation_id)
            .await
            .map_err(|e| PortError::unavailable(e.to_string()))?;
        Ok(members.members.into_iter().map(|m| m.user_id).collect())
    }
}

fn stored(ack: SendAck) -> Stored {
    Stored {
        conversation_id: ack.conversation_id,
        seq: ack.seq,
        server_ts: ack.server_ts_ms,
        client_msg_id: ack.client_msg_id,
        duplicate: ack.duplicate,
    }
}

/// A service's error in protocol terms.
pub fn port_error(err: &(impl HasKind + std::fmt::Display)) -> PortError {
    let (code, retriable) = match err.kind() {
        ErrorKind::InvalidArgument => (ErrorCode::InvalidFrame, false),
        ErrorKind::PermissionDenied => (ErrorCode::Forbidden, false),
        ErrorKind::Unauthenticated => (ErrorCode::Unauthenticated, false),
        ErrorKind::NotFound => (ErrorCode::NotFound, false),
        ErrorKind::Conflict | ErrorKind::AlreadyExists => (ErrorCode::Conflict, false),
        ErrorKind::ResourceExhausted => (ErrorCode::RateLimited, true),
        ErrorKind::Unavailable | ErrorKind::DeadlineExceeded => (ErrorCode::Unavailable, true),
        _ => (ErrorCode::Internal, true),
    };
    PortError {
        code,
        message: err.to_string(),
        retriable,
        retry_after_ms: retriable.then_some(1000),
    }
}
