//! What each kind of write stores: the message template, and the checks
//! and extra ops that depend on stored state (the target of an edit,
//! delete or reaction; the existence of a replied-to message).
//!
//! A deleted message loses its content in storage, and so do its edits: the
//! delete's transaction rewrites them blank with `deleted_by_seq` set, each
//! conditioned on the version read, so a racing edit cannot slip in.

use chatflow_kv::TxOp;

use super::Engine;
use crate::settings::Limits;
use crate::store::{self, Head, Versioned};
use crate::{
    Caller, DeleteRequest, EditRequest, Message, MessageKind, ReactRequest, RouterError,
    SendRequest, SystemNotice, validate,
};

/// The sender and device id of system notices.
pub const SYSTEM_SENDER: &str = "system";

/// One write, validated.
#[derive(Debug, Clone)]
pub(crate) enum WriteOp {
    Send(SendRequest),
    Edit(EditRequest),
    Delete(DeleteRequest),
    React(ReactRequest),
    System(SystemNotice),
}

/// The outcome of preparing a write against a head.
pub(super) enum Prepared {
    /// The extra ops to commit with the message.
    Ready(Vec<TxOp>),
    /// The request points past the head used: re-read it before deciding.
    StaleHead,
}

impl WriteOp {
    /// The op's name in metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Send(_) => "send",
            Self::Edit(_) => "edit",
            Self::Delete(_) => "delete",
            Self::React(_) => "react",
            Self::System(_) => "system",
        }
    }

    /// Checks what needs no stored state; nothing is read or written on failure.
    pub fn validate(&self, limits: &Limits) -> Result<(), RouterError> {
        match self {
            Self::Send(r) => validate::send(r, limits),
            Self::Edit(r) => validate::edit(r, limits),
            Self::Delete(r) => validate::delete(r),
            Self::React(r) => validate::react(r),
            Self::System(n) => validate::system(n, limits),
        }
    }

    /// The end user, or `None` for a system notice.
    pub fn caller(&self) -> Option<&Caller> {
        match self {
            Self::Send(r) => Some(&r.caller),
            Self::Edit(r) => Some(&r.caller),
            Self::Delete(r) => Some(&r.caller),
            Self::React(r) => Some(&r.caller),
            Self::System(_) => None,
        }
    }

    /// The conversation written to.
    pub fn conversation_id(&self) -> &str {
        match self {
            Self::Send(r) => &r.conversation_id,
            Self::Edit(r) => &r.conversation_id,
            Self::Delete(r) => &r.conversation_id,
            Self::React(r) => &r.conversation_id,
            Self::System(n) => &n.conversation_id,
        }
    }

    /// The idempotency key.
    pub fn client_msg_id(&self) -> &str {
        match self {
            Self::Send(r) => &r.client_msg_id,
            Self::Edit(r) => &r.client_msg_id,
            Self::Delete(r) => &r.client_msg_id,
            Self::React(r) => &r.client_msg_id,
            Self::System(n) => &n.client_msg_id,
        }
    }

    /// Who the message is from.
    pub fn sender_id(&self) -> &str {
        self.caller().map_or(SYSTEM_SENDER, |c| c.user_id.as_str())
    }

    /// The message this write stores, before a seq and time are assigned.
    pub fn template(&self) -> Message {
        let device_id = self
            .caller()
            .map_or(SYSTEM_SENDER, |c| c.device_id.as_str());
        let mut message = Message {
            conversation_id: self.conversation_id().to_owned(),
            seq: 0,
            kind: MessageKind::Text,
            sender_id: self.sender_id().to_owned(),
            device_id: device_id.to_owned(),
            client_msg_id: self.client_msg_id().to_owned(),
            server_ts_ms: 0,
            text: String::new(),
            reply_to_seq: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
            target_seq: None,
            reaction: None,
            edit_seqs: Vec::new(),
            deleted_by_seq: None,
        };
        match self {
            Self::Send(r) => {
                message.text.clone_from(&r.text);
                message.reply_to_seq = r.reply_to_seq;
                message.mentions.clone_from(&r.mentions);
                message.attachments.clone_from(&r.attachments);
            }
            Self::Edit(r) => {
                message.kind = MessageKind::Edit;
                message.target_seq = Some(r.target_seq);
                message.text.clone_from(&r.text);
            }
            Self::Delete(r) => {
                message.kind = MessageKind::Delete;
                message.target_seq = Some(r.target_seq);
            }
            Self::React(r) => {
                message.kind = MessageKind::Reaction;
                message.target_seq = Some(r.target_seq);
                message.reaction = Some(r.reaction.clone());
            }
            Self::System(n) => {
                message.kind = MessageKind::System;
                message.text.clone_from(&n.text);
                message.mentions.clone_from(&n.mentions);
            }
        }
        message
    }
}

impl Engine {
    /// Checks `message` (at `head.seq + 1`) against stored state and returns
    /// the extra ops its transaction needs.
    pub(super) async fn prepare(
        &self,
        op: &WriteOp,
        head: Head,
        message: &Message,
    ) -> Result<Prepared, RouterError> {
        let conversation_id = op.conversation_id();
        match op {
            WriteOp::System(_) => Ok(Prepared::Ready(Vec::new())),
            WriteOp::Send(request) => match request.reply_to_seq {
                Some(reply) if reply > head.seq => Ok(Prepared::StaleHead),
                _ => Ok(Prepared::Ready(Vec::new())),
            },
            WriteOp::Edit(request) => {
                let Some(target) = self
                    .target(conversation_id, request.target_seq, head)
                    .await?
                else {
                    return Ok(Prepared::StaleHead);
                };
                authored_text(&target, &request.caller, ("edit", "edited"))?;
                if target.message.edit_seqs.len() >= self.inner.limits.max_edits {
                    return Err(RouterError::invalid(format!(
                        "message {} already has {} edits, the most allowed",
                        request.target_seq,
                        target.message.edit_seqs.len()
                    )));
                }
                let mut updated = target.message;
                updated.edit_seqs.push(message.seq);
                Ok(Prepared::Ready(vec![store::update_message_op(
                    &updated,
                    target.version,
                )?]))
            }
            WriteOp::Delete(request) => {
                let Some(target) = self
                    .target(conversation_id, request.target_seq, head)
                    .await?
                else {
                    return Ok(Prepared::StaleHead);
                };
                authored_text(&target, &request.caller, ("delete", "deleted"))?;
                let mut ops = Vec::with_capacity(1 + target.message.edit_seqs.len());
                for edit_seq in &target.message.edit_seqs {
                    let edit = self
                        .inner
                        .store
                        .message(conversation_id, *edit_seq)
                        .await?
                        .ok_or_else(|| {
                            RouterError::Corrupt(format!(
                                "edit {edit_seq} of message {} is missing",
                                request.target_seq
                            ))
                        })?;
                    ops.push(store::update_message_op(
                        &blanked(edit.message, message.seq),
                        edit.version,
                    )?);
                }
                ops.push(store::update_message_op(
                    &blanked(target.message, message.seq),
                    target.version,
                )?);
                Ok(Prepared::Ready(ops))
            }
            WriteOp::React(request) => {
                let Some(target) = self
                    .target(conversation_id, request.target_seq, head)
                    .await?
                else {
                    return Ok(Prepared::StaleHead);
                };
                let kind = target.message.kind;
                if !matches!(kind, MessageKind::Text | MessageKind::System) {
                    return Err(RouterError::invalid(format!(
                        "message {} is a {} message; only text and system messages take reactions",
                        request.target_seq,
                        kind.as_str()
                    )));
                }
                if target.message.is_deleted() {
                    return Err(RouterError::Conflict(format!(
                        "message {} was deleted",
                        request.target_seq
                    )));
                }
                Ok(Prepared::Ready(vec![store::check_message_op(
                    conversation_id,
                    request.target_seq,
                    target.version,
                )]))
            }
        }
    }

    /// The target of an edit, delete or reaction; `None` if it lies past `head`.
    async fn target(
        &self,
        conversation_id: &str,
        seq: u64,
        head: Head,
    ) -> Result<Option<Versioned>, RouterError> {
        if seq > head.seq {
            return Ok(None);
        }
        let target = self.inner.store.message(conversation_id, seq).await?;
        target
            .ok_or_else(|| {
                RouterError::Corrupt(format!(
                    "message {seq} of {conversation_id} is missing below the head"
                ))
            })
            .map(Some)
    }
}

/// Refuses unless `target` is a live text message written by `caller`.
/// `action` is the verb, `done` its past participle.
fn authored_text(
    target: &Versioned,
    caller: &Caller,
    (action, done): (&str, &str),
) -> Result<(), RouterError> {
    let message = &target.message;
    if message.kind != MessageKind::Text {
        return Err(RouterError::invalid(format!(
            "message {} is a {} message; only text messages can be {done}",
            message.seq,
            message.kind.as_str()
        )));
    }
    if message.sender_id != caller.user_id {
        return Err(RouterError::PermissionDenied(format!(
            "only the author may {action} message {}",
            message.seq
        )));
    }
    if message.is_deleted() {
        return Err(RouterError::Conflict(format!(
            "message {} was deleted",
            message.seq
        )));
    }
    Ok(())
}

/// `message` with its content removed by the delete at `deleted_by`.
fn blanked(mut message: Message, deleted_by: u64) -> Message {
    message.text.clear();
    message.mentions.clear();
    message.attachments.clear();
    message.deleted_by_seq = Some(deleted_by);
    message
}
