//! Input checks run before anything is read or written: a request that
//! fails them gets a precise `InvalidArgument` and changes nothing.
//!
//! Ids that become part of store keys (conversation, user, client message
//! id) are restricted to `[A-Za-z0-9_-]`, so keys such as
//! `i#<conversation>#<sender>#<client_msg_id>` are unambiguous. Mentions are
//! checked for form only, not membership: a mention of a non-member reveals
//! nothing, and whoever acts on mentions (notifications) checks membership.

use std::collections::HashSet;

use crate::settings::Limits;
use crate::{
    Caller, DeleteRequest, EditRequest, ReactRequest, RouterError, SendRequest, SystemNotice,
};

/// Longest conversation, user or file id.
pub const MAX_ID_LEN: usize = 128;
/// Longest client message id.
pub const MAX_CLIENT_MSG_ID_LEN: usize = 64;
/// Longest device id.
pub const MAX_DEVICE_ID_LEN: usize = 128;
/// Longest reaction emoji, in characters.
pub const MAX_EMOJI_CHARS: usize = 16;

fn key_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn id(field: &str, value: &str, max: usize) -> Result<(), RouterError> {
    if value.is_empty() || value.len() > max || !key_safe(value) {
        return Err(RouterError::invalid(format!(
            "{field} must be 1 to {max} characters of [A-Za-z0-9_-], got {:?}",
            truncated(value)
        )));
    }
    Ok(())
}

/// Shows at most 64 characters of a rejected value.
fn truncated(value: &str) -> String {
    value.chars().take(64).collect()
}

/// A conversation id: 1 to 128 of `[A-Za-z0-9_-]`.
pub fn conversation_id(value: &str) -> Result<(), RouterError> {
    id("conversation_id", value, MAX_ID_LEN)
}

/// A client message id: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn client_msg_id(value: &str) -> Result<(), RouterError> {
    id("client_msg_id", value, MAX_CLIENT_MSG_ID_LEN)
}

/// The caller's ids: a key-safe user id and a printable device id.
pub fn caller(caller: &Caller) -> Result<(), RouterError> {
    id("caller.user_id", &caller.user_id, MAX_ID_LEN)?;
    let device = &caller.device_id;
    if device.is_empty() || device.len() > MAX_DEVICE_ID_LEN || device.chars().any(char::is_control)
    {
        return Err(RouterError::invalid(format!(
            "caller.device_id must be 1 to {MAX_DEVICE_ID_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// A seq a request points at: at least 1.
pub fn seq(field: &str, value: u64) -> Result<(), RouterError> {
    if value == 0 {
        return Err(RouterError::invalid(format!("{field} must be at least 1")));
    }
    Ok(())
}

/// Text: at most `max_text_chars` characters, no control characters but `\n` and `\t`.
pub fn text(value: &str, limits: &Limits, allow_empty: bool) -> Result<(), RouterError> {
    if value.is_empty() && !allow_empty {
        return Err(RouterError::invalid("text must not be empty"));
    }
    let chars = value.chars().count();
    if chars > limits.max_text_chars {
        return Err(RouterError::invalid(format!(
            "text has {chars} characters, at most {} allowed",
            limits.max_text_chars
        )));
    }
    if let Some((at, c)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(RouterError::invalid(format!(
            "text contains control character U+{:04X} at character {at}",
            u32::from(c)
        )));
    }
    Ok(())
}

/// A list of distinct, well-formed ids of at most `max` entries.
fn id_list(field: &str, values: &[String], max: usize) -> Result<(), RouterError> {
    if values.len() > max {
        return Err(RouterError::invalid(format!(
            "{field} has {} entries, at most {max} allowed",
            values.len()
        )));
    }
    let mut seen = HashSet::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        id(&format!("{field}[{i}]"), value, MAX_ID_LEN)?;
        if !seen.insert(value.as_str()) {
            return Err(RouterError::invalid(format!(
                "{field}[{i}] repeats {value:?}"
            )));
        }
    }
    Ok(())
}

/// A reaction emoji: 1 to 16 characters, no whitespace or control characters.
pub fn emoji(value: &str) -> Result<(), RouterError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_EMOJI_CHARS {
        return Err(RouterError::invalid(format!(
            "reaction.emoji must be 1 to {MAX_EMOJI_CHARS} characters, got {chars}"
        )));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RouterError::invalid(
            "reaction.emoji must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

/// Everything about a send that does not need stored state.
pub fn send(request: &SendRequest, limits: &Limits) -> Result<(), RouterError> {
    caller(&request.caller)?;
    conversation_id(&request.conversation_id)?;
    client_msg_id(&request.client_msg_id)?;
    text(&request.text, limits, !request.attachments.is_empty())?;
    if let Some(reply) = request.reply_to_seq {
        seq("reply_to_seq", reply)?;
    }
    id_list("mentions", &request.mentions, limits.max_mentions)?;
    id_list("attachments", &request.attachments, limits.max_attachments)
}

/// Everything about an edit that does not need stored state.
pub fn edit(request: &EditRequest, limits: &Limits) -> Result<(), RouterError> {
    caller(&request.caller)?;
    conversation_id(&request.conversation_id)?;
    client_msg_id(&request.client_msg_id)?;
    seq("target_seq", request.target_seq)?;
    text(&request.text, limits, false)
}

/// Everything about a delete that does not need stored state.
pub fn delete(request: &DeleteRequest) -> Result<(), RouterError> {
    caller(&request.caller)?;
    conversation_id(&request.conversation_id)?;
    client_msg_id(&request.client_msg_id)?;
    seq("target_seq", request.target_seq)
}

/// Everything about a reaction that does not need stored state.
pub fn react(request: &ReactRequest) -> Result<(), RouterError> {
    caller(&request.caller)?;
    conversation_id(&request.conversation_id)?;
    client_msg_id(&request.client_msg_id)?;
    seq("target_seq", request.target_seq)?;
    emoji(&request.reaction.emoji)
}

/// Everything about a system notice.
pub fn system(notice: &SystemNotice, limits: &Limits) -> Result<(), RouterError> {
    conversation_id(&notice.conversation_id)?;
    client_msg_id(&notice.client_msg_id)?;
    text(&notice.text, limits, false)?;
    id_list("mentions", &notice.mentions, limits.max_mentions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> SendRequest {
        SendRequest {
            caller: Caller::new("u1", "phone"),
            conversation_id: "c1".into(),
            client_msg_id: "m-1".into(),
            text: text.into(),
            reply_to_seq: None,
            mentions: vec![],
            attachments: vec![],
        }
    }

    fn message(result: Result<(), RouterError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn good_sends_pass() {
        let limits = Limits::default();
        send(&request("hello\n\tworld 👋"), &limits).unwrap();
        let mut with_files = request("");
        with_files.attachments = vec!["f1".into(), "f2".into()];
        send(&with_files, &limits).unwrap();
    }

    #[test]
    fn bad_text_is_named_precisely() {
        let limits = Limits::default();
        assert!(message(send(&request(""), &limits)).contains("must not be empty"));
        let long = "é".repeat(4097);
        assert!(message(send(&request(&long), &limits)).contains("4097 characters"));
        assert!(send(&request(&"é".repeat(4096)), &limits).is_ok());
        assert!(message(send(&request("a\0b"), &limits)).contains("U+0000 at character 1"));
        assert!(message(send(&request("a\rb"), &limits)).contains("U+000D"));
    }

    #[test]
    fn ids_must_be_key_safe() {
        let limits = Limits::default();
        for bad in ["", "a#b", "a b", &"x".repeat(65)] {
            let mut r = request("hi");
            r.client_msg_id = bad.into();
            assert!(
                message(send(&r, &limits)).contains("client_msg_id"),
                "{bad}"
            );
        }
        let mut r = request("hi");
        r.conversation_id = "c/1".into();
        assert!(message(send(&r, &limits)).contains("conversation_id"));
        let mut r = request("hi");
        r.caller.device_id = "d\u{7}".into();
        assert!(message(send(&r, &limits)).contains("device_id"));
    }

    #[test]
    fn lists_are_bounded_distinct_and_well_formed() {
        let limits = Limits::default();
        let mut r = request("hi");
        r.mentions = (0..51).map(|i| format!("u{i}")).collect();
        assert!(message(send(&r, &limits)).contains("mentions has 51 entries"));
        r.mentions = vec!["u1".into(), "u1".into()];
        assert!(message(send(&r, &limits)).contains("mentions[1] repeats"));
        r.mentions = vec![];
        r.attachments = vec!["ok".into(), "not ok".into()];
        assert!(message(send(&r, &limits)).contains("attachments[1]"));
        r.attachments = (0..11).map(|i| format!("f{i}")).collect();
        assert!(message(send(&r, &limits)).contains("at most 10"));
        r.attachments = vec![];
        r.reply_to_seq = Some(0);
        assert!(message(send(&r, &limits)).contains("reply_to_seq"));
    }

    #[test]
    fn emoji_rules() {
        emoji("👍").unwrap();
        emoji("👨‍👩‍👧").unwrap();
        assert!(emoji("").is_err());
        assert!(emoji("a b").is_err());
        assert!(emoji(&"x".repeat(17)).is_err());
    }
}
