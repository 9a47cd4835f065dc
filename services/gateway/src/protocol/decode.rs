//! Turning one text frame into a [`ClientFrame`], or a typed error that
//! says exactly what is wrong. Checks here are the protocol's own (sizes,
//! ids, shapes); the router validates message content again, as every
//! service checks its own input.

use serde_json::Value;

use super::frames::ClientFrame;
use super::server::ErrorCode;

/// Bounds on what a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest text frame, in bytes.
    pub max_frame_bytes: usize,
    /// Most conversations one `hello` or `resume` may name.
    pub max_resume_conversations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            max_resume_conversations: 1000,
        }
    }
}

/// Why a frame was refused; `id` is the request id when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The request id, if the frame had a readable one.
    pub id: Option<String>,
    /// `invalid_frame`, `unknown_type` or `too_large`.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
}

/// Longest request id.
const MAX_ID_CHARS: usize = 64;
/// Longest conversation id.
const MAX_CONVERSATION_ID_CHARS: usize = 128;
/// Longest client message id.
const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
/// The frame types of this protocol version.
const KNOWN_TYPES: [&str; 13] = [
    "hello", "resume", "send", "edit", "delete", "react", "ack", "read", "watch", "presence",
    "typing", "refresh", "ping",
];
/// Most users one `watch` may name.
pub const MAX_WATCH_USERS: usize = 500;
/// Longest user id.
const MAX_USER_ID_CHARS: usize = 64;

/// Parses and validates one text frame.
pub fn decode_client_frame(text: &str, limits: &Limits) -> Result<ClientFrame, DecodeError> {
    if text.len() > limits.max_frame_bytes {
        return Err(error(
            None,
            ErrorCode::TooLarge,
            format!(
                "frame of {} bytes exceeds max_frame_bytes {}",
                text.len(),
                limits.max_frame_bytes
            ),
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| error(None, ErrorCode::InvalidFrame, format!("not JSON: {e}")))?;
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| valid_id(id))
        .map(str::to_owned);
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return Err(error(
            id,
            ErrorCode::InvalidFrame,
            "a frame is a JSON object with a string `type`".into(),
        ));
    };
    if !KNOWN_TYPES.contains(&kind) {
        return Err(error(
            id,
            ErrorCode::UnknownType,
            format!("unknown frame type {:?}", truncate(kind)),
        ));
    }
    let frame: ClientFrame = serde_json::from_value(value)
        .map_err(|e| error(id.clone(), ErrorCode::InvalidFrame, e.to_string()))?;
    check(&frame, limits).map_err(|message| error(id, ErrorCode::InvalidFrame, message))?;
    Ok(frame)
}

/// Field rules serde cannot express.
fn check(frame: &ClientFrame, limits: &Limits) -> Result<(), String> {
    if let Some(id) = frame.id()
        && !valid_id(id)
    {
        return Err(format!(
            "`id` must be 1-{MAX_ID_CHARS} printable ASCII characters"
        ));
    }
    match frame {
        ClientFrame::Hello(hello) => positions(hello.resume.iter(), limits),
        ClientFrame::Resume { positions: p, .. } => positions(p.iter(), limits),
        ClientFrame::Send(send) => {
            conversation(&send.conversation_id)?;
            client_msg_id(&send.client_msg_id)
        }
        ClientFrame::Edit(edit) => {
            conversation(&edit.conversation_id)?;
            client_msg_id(&edit.client_msg_id)?;
            target(edit.target_seq)
        }
        ClientFrame::Delete(delete) => {
            conversation(&delete.conversation_id)?;
            client_msg_id(&delete.client_msg_id)?;
            target(delete.target_seq)
        }
        ClientFrame::React(react) => {
            conversation(&react.conversation_id)?;
            client_msg_id(&react.client_msg_id)?;
            target(react.target_seq)
        }
        ClientFrame::Ack(ack) => conversation(&ack.conversation_id),
        ClientFrame::Read(read) => {
            conversation(&read.conversation_id)?;
            if read.seq == 0 {
                return Err("`seq` starts at 1".into());
            }
            Ok(())
        }
        ClientFrame::Watch(watch) => {
            if watch.user_ids.len() > MAX_WATCH_USERS {
                return Err(format!("at most {MAX_WATCH_USERS} users per watch"));
            }
            watch.user_ids.iter().try_for_each(|u| user_id(u))?;
            watch
                .conversation_id
                .as_deref()
                .map_or(Ok(()), conversation)
        }
        ClientFrame::Typing(typing) => conversation(&typing.conversation_id),
        ClientFrame::Presence { .. } => Ok(()),
        ClientFrame::Refresh { token, .. } if token.is_empty() => Err("`token` is empty".into()),
        ClientFrame::Refresh { .. } | ClientFrame::Ping { .. } => Ok(()),
    }
}

fn positions<'a>(
    mut entries: impl ExactSizeIterator<Item = (&'a String, &'a u64)>,
    limits: &Limits,
) -> Result<(), String> {
    if entries.len() > limits.max_resume_conversations {
        return Err(format!(
            "at most {} conversations per resume",
            limits.max_resume_conversations
        ));
    }
    entries.try_for_each(|(id, _)| conversation(id))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_CHARS && id.bytes().all(|b| b.is_ascii_graphic())
}

fn conversation(id: &str) -> Result<(), String> {
    token_id("conversation id", id, MAX_CONVERSATION_ID_CHARS)
}

fn user_id(id: &str) -> Result<(), String> {
    token_id("user id", id, MAX_USER_ID_CHARS)
}

fn client_msg_id(id: &str) -> Result<(), String> {
    token_id("`client_msg_id`", id, MAX_CLIENT_MSG_ID_CHARS)
}

/// Ids clients name things by: 1 to `max` of `A-Z a-z 0-9 _ -`.
fn token_id(what: &str, id: &str, max: usize) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= max
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} must be 1-{max} characters of A-Z, a-z, 0-9, '_' or '-'",
            truncate(id)
        ))
    }
}

fn target(seq: u64) -> Result<(), String> {
    if seq == 0 {
        Err("`target_seq` starts at 1".into())
    } else {
        Ok(())
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

fn error(id: Option<String>, code: ErrorCode, message: String) -> DecodeError {
    DecodeError { id, code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<ClientFrame, DecodeError> {
        decode_client_frame(text, &Limits::default())
    }

    #[test]
    fn a_send_frame_decodes_with_its_body() {
        let frame = decode(r#"{"type":"send","id":"1","conversation_id":"g_1","client_msg_id":"m-1","text":"hi","reply_to":3}"#).unwrap();
        let ClientFrame::Send(send) = frame else {
            panic!("{frame:?}")
        };
        assert_eq!((send.text.as_str(), send.reply_to), ("hi", Some(3)));
    }

    #[test]
    fn errors_are_typed_and_keep_the_request_id_when_readable() {
        let cases = [
            ("not json", ErrorCode::InvalidFrame, None),
            ("[1,2]", ErrorCode::InvalidFrame, None),
            (
                r#"{"type":"teleport","id":"7"}"#,
                ErrorCode::UnknownType,
                Some("7"),
            ),
            (
                r#"{"type":"ping","id":"8","extra":1}"#,
                ErrorCode::InvalidFrame,
                Some("8"),
            ),
            (
                r#"{"type":"send","id":"9","conversation_id":"g 1","client_msg_id":"m","text":"x"}"#,
                ErrorCode::InvalidFrame,
                Some("9"),
            ),
            (
                r#"{"type":"send","id":"10","conversation_id":"g_1","client_msg_id":"","text":"x"}"#,
                ErrorCode::InvalidFrame,
                Some("10"),
            ),
            (
                r#"{"type":"edit","id":"11","conversation_id":"g_1","client_msg_id":"e","target_seq":0,"text":"x"}"#,
                ErrorCode::InvalidFrame,
                Some("11"),
            ),
            (r#"{"type":"ping","id":""}"#, ErrorCode::InvalidFrame, None),
            (
                r#"{"type":"read","id":"12","conversation_id":"g_1","seq":0}"#,
                ErrorCode::InvalidFrame,
                Some("12"),
            ),
            (
                r#"{"type":"read","id":"13","conversation_id":"g_1","seq":-1}"#,
                ErrorCode::InvalidFrame,
                Some("13"),
            ),
            (
                r#"{"type":"watch","id":"14","user_ids":["ok","not ok"]}"#,
                ErrorCode::InvalidFrame,
                Some("14"),
            ),
            (
                r#"{"type":"presence","status":"invisible"}"#,
                ErrorCode::InvalidFrame,
                None,
            ),
            (
                r#"{"type":"typing","conversation_id":"g_1"}"#,
                ErrorCode::InvalidFrame,
                None,
            ),
            (
                r#"{"type":"typing","conversation_id":"g_1","active":true,"ttl":5}"#,
                ErrorCode::InvalidFrame,
                None,
            ),
        ];
        for (text, code, id) in cases {
            let err = decode(text).unwrap_err();
            assert_eq!(
                (err.code, err.id.as_deref()),
                (code, id),
                "{text}: {}",
                err.message
            );
        }
    }

    #[test]
    fn live_frames_decode() {
        let cases = [
            (
                r#"{"type":"read","id":"r","conversation_id":"g_1","seq":4}"#,
                "read",
            ),
            (
                r#"{"type":"watch","id":"w","user_ids":["u1"],"conversation_id":"g_1"}"#,
                "watch",
            ),
            (r#"{"type":"presence","status":"away"}"#, "presence"),
            (
                r#"{"type":"typing","conversation_id":"g_1","active":false}"#,
                "typing",
            ),
        ];
        for (text, kind) in cases {
            assert_eq!(decode(text).map(|f| f.kind()), Ok(kind), "{text}");
        }
        let watch = format!(
            r#"{{"type":"watch","id":"w","user_ids":[{}]}}"#,
            vec![r#""u""#; MAX_WATCH_USERS + 1].join(",")
        );
        assert_eq!(decode(&watch).unwrap_err().code, ErrorCode::InvalidFrame);
    }

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        let limits = Limits {
            max_frame_bytes: 32,
            ..Limits::default()
        };
        let err = decode_client_frame(
            &format!(r#"{{"type":"ping","id":"{}"}}"#, "x".repeat(40)),
            &limits,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::TooLarge);
    }

    #[test]
    fn resume_is_bounded() {
        let limits = Limits {
            max_resume_conversations: 2,
            ..Limits::default()
        };
        let text = r#"{"type":"resume","id":"r","positions":{"a":1,"b":2,"c":3}}"#;
        assert_eq!(
            decode_client_frame(text, &limits).unwrap_err().code,
            ErrorCode::InvalidFrame
        );
    }
}
