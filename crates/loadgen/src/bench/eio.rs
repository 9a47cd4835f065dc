//! The Engine.IO v4 / Socket.IO v5 wire format over a plain WebSocket, just
//! what the reference peer needs: one packet per text frame, the Engine.IO
//! type as the first digit (`0` open, `1` close, `2` ping, `3` pong, `4`
//! message), and inside a message the Socket.IO type (`0` connect, `1`
//! disconnect, `2` event, `4` connect error) on the main namespace, so a
//! connect is `40{auth}` and an event is `42["name",data]`. The server
//! pings; the client answers each `2` with `3`.

use serde_json::{Value, json};

/// The path and query of the WebSocket transport (no polling first).
pub const WEBSOCKET_PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// The client's answer to a server ping.
pub const PONG: &str = "3";

/// One decoded packet from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// Engine.IO open: the session and its heartbeat settings.
    Open {
        /// Milliseconds between server pings.
        ping_interval_ms: u64,
    },
    /// Engine.IO ping: answer with [`PONG`].
    Ping,
    /// Engine.IO close.
    Close,
    /// Socket.IO connect answered: the namespace is joined.
    Connected,
    /// Socket.IO connect refused, with the server's reason.
    ConnectError(String),
    /// Socket.IO disconnect from the server.
    Disconnect,
    /// Socket.IO event: its name and first argument.
    Event(String, Value),
    /// Anything else (noop, upgrade, acks, binary).
    Other,
}

/// The Socket.IO connect to the main namespace with `auth` as handshake
/// payload (`socket.handshake.auth` on the server).
pub fn connect(auth: &Value) -> String {
    format!("40{auth}")
}

/// A Socket.IO event on the main namespace with one argument.
pub fn event(name: &str, data: &Value) -> String {
    format!("42{}", json!([name, data]))
}

/// Decodes one text frame.
pub fn decode(text: &str) -> Packet {
    let mut chars = text.chars();
    match chars.next() {
        Some('0') => {
            let open: Value = serde_json::from_str(chars.as_str()).unwrap_or(Value::Null);
            Packet::Open {
                ping_interval_ms: open["pingInterval"].as_u64().unwrap_or(25_000),
            }
        }
        Some('1') => Packet::Close,
        Some('2') => Packet::Ping,
        Some('4') => socket_io(chars.as_str()),
        _ => Packet::Other,
    }
}

/// Decodes the Socket.IO packet inside an Engine.IO message.
fn socket_io(packet: &str) -> Packet {
    let mut chars = packet.chars();
    let kind = chars.next();
    let mut rest = chars.as_str();
    // A namespace other than the main one comes first as `/nsp,`; we only
    // use the main namespace, so skip one if present.
    if rest.starts_with('/') {
        rest = rest.split_once(',').map_or("", |(_, after)| after);
    }
    // An ack id (digits) may precede the payload of events.
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    match kind {
        Some('0') => Packet::Connected,
        Some('1') => Packet::Disconnect,
        Some('2') => match serde_json::from_str::<Value>(rest) {
            Ok(Value::Array(mut args)) if !args.is_empty() => {
                let data = if args.len() > 1 {
                    args.swap_remove(1)
                } else {
                    Value::Null
                };
                match args.swap_remove(0) {
                    Value::String(name) => Packet::Event(name, data),
                    _ => Packet::Other,
                }
            }
            _ => Packet::Other,
        },
        Some('4') => {
            let error: Value = serde_json::from_str(rest).unwrap_or(Value::Null);
            let reason = error["message"]
                .as_str()
                .map_or_else(|| rest.to_owned(), str::to_owned);
            Packet::ConnectError(reason)
        }
        _ => Packet::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_decodes() {
        let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(
            decode(open),
            Packet::Open {
                ping_interval_ms: 25_000
            }
        );
        assert_eq!(
            decode(r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#),
            Packet::Connected
        );
        assert_eq!(
            decode(r#"44{"message":"Not authorized"}"#),
            Packet::ConnectError("Not authorized".to_owned())
        );
        assert_eq!(decode("2"), Packet::Ping);
        assert_eq!(decode("1"), Packet::Close);
        assert_eq!(decode("41"), Packet::Disconnect);
        assert_eq!(decode("6"), Packet::Other);
        assert_eq!(decode(""), Packet::Other);
    }

    #[test]
    fn events_round_trip() {
        let data = json!({"to": "u7", "id": "0-3-12", "body": "hi \"there\""});
        let frame = event("msg", &data);
        assert!(frame.starts_with(r#"42["msg",{"#), "{frame}");
        assert!(frame.contains(r#""body":"hi \"there\"""#), "{frame}");
        assert_eq!(decode(&frame), Packet::Event("msg".to_owned(), data));
        // An event with an ack id, on a named namespace, or without data.
        assert_eq!(
            decode(r#"4212["ack",{"id":"x"}]"#),
            Packet::Event("ack".to_owned(), json!({"id": "x"}))
        );
        assert_eq!(
            decode(r#"42/chat,["ping"]"#),
            Packet::Event("ping".to_owned(), Value::Null)
        );
        assert_eq!(decode("42[1]"), Packet::Other);
        assert_eq!(decode("42not json"), Packet::Other);
    }

    #[test]
    fn connect_carries_auth() {
        assert_eq!(connect(&json!({"user": "u1"})), r#"40{"user":"u1"}"#);
        assert_eq!(PONG, "3");
    }
}
