//! One simulated client's WebSocket to either target, with one interface
//! for the scenarios: send a chat message, acknowledge one, keep alive, and
//! read what arrives. ChatFlow speaks `docs/protocol.md`; the Socket.IO
//! peer speaks Engine.IO v4 / Socket.IO v5 ([`eio`](super::eio)).
//!
//! Sockets bind to a chosen loopback source address, so more than ~28,000
//! connections can reach one destination, and use small WebSocket buffers,
//! so 100,000 client connections fit in the generator's memory.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::eio::{self, Packet};

type Ws = WebSocketStream<TcpStream>;

/// How long connecting and the handshake may take.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(30);
/// Client read buffer: frames here are small.
const READ_BUFFER: usize = 4 * 1024;

/// Which server a link talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// The ChatFlow gateway.
    ChatFlow,
    /// The Socket.IO reference peer.
    SocketIo,
}

/// Where and as whom one client connects.
#[derive(Debug, Clone)]
pub struct Dial {
    /// `ws://host:port/v1/ws` or `ws://host:port` (the peer's path is added).
    pub url: String,
    /// ChatFlow access token, or the peer's user name.
    pub credential: String,
    /// ChatFlow: conversations to replay from `seq` 0 after `hello`.
    pub resume: Vec<String>,
    /// Loopback source address to bind (`None`: the kernel picks).
    pub source: Option<IpAddr>,
}

/// What arrived on a link.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A chat message: conversation (ChatFlow) or sender (peer), its `seq`
    /// (ChatFlow only) and its text.
    Message {
        /// ChatFlow conversation id, or the peer's `from` user.
        conversation: String,
        /// The conversation's sequence number (ChatFlow only).
        seq: Option<u64>,
        /// The message text.
        text: String,
    },
    /// ChatFlow stored one of our sends.
    SendAck,
    /// ChatFlow refused a request with this code.
    Error(String),
    /// The peer pinged: answer with [`Link::pong`].
    Ping,
    /// The connection ended, and why.
    Closed(String),
    /// Anything else (pongs, receipts, pings already answered).
    Other,
}

/// One connected client.
pub struct Link {
    flavor: Flavor,
    sink: SplitSink<Ws, Message>,
    stream: SplitStream<Ws>,
    /// How often the client must show life (ChatFlow pings; the peer pings us).
    pub heartbeat: Duration,
    requests: u64,
}

/// The ChatFlow frame fields a client reads.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    message: Option<ChatMessage>,
    code: Option<String>,
    heartbeat_secs: Option<u64>,
}

#[derive(Deserialize)]
struct ChatMessage {
    conversation_id: String,
    seq: Option<u64>,
    text: Option<String>,
}

/// Opens a WebSocket to `url` from `source` with small buffers.
async fn open(url: &str, protocols: Option<&str>, source: Option<IpAddr>) -> Result<Ws> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("bad WebSocket URL {url}"))?;
    if let Some(protocols) = protocols {
        let value = HeaderValue::from_str(protocols).context("not a valid header value")?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", value);
    }
    let host = request.uri().host().unwrap_or("127.0.0.1").to_owned();
    let port = request.uri().port_u16().unwrap_or(80);
    let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or_else(|| anyhow!("{host} does not resolve"))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("binding {source}"))?;
    }
    let stream = socket.connect(addr).await.context("TCP connect")?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .context("WebSocket upgrade")?;
    Ok(ws)
}

impl Link {
    /// Connects and completes the handshake: ChatFlow's `hello`/`welcome`
    /// (replaying `dial.resume` from 0), or the peer's open and namespace connect.
    pub async fn connect(flavor: Flavor, dial: &Dial) -> Result<Self> {
        tokio::time::timeout(HANDSHAKE_WAIT, Self::handshake(flavor, dial))
            .await
            .map_err(|_| anyhow!("no handshake within {HANDSHAKE_WAIT:?}"))?
    }

    async fn handshake(flavor: Flavor, dial: &Dial) -> Result<Self> {
        let ws = match flavor {
            Flavor::ChatFlow => {
                let protocols = format!("chatflow.v1, access_token.{}", dial.credential);
                open(&dial.url, Some(&protocols), dial.source).await?
            }
            Flavor::SocketIo => {
                let url = format!("{}{}", dial.url.trim_end_matches('/'), eio::WEBSOCKET_PATH);
                open(&url, None, dial.source).await?
            }
        };
        let (sink, stream) = ws.split();
        let mut link = Self {
            flavor,
            sink,
            stream,
            heartbeat: Duration::from_secs(25),
            requests: 0,
        };
        match flavor {
            Flavor::ChatFlow => {
                let resume: serde_json::Map<String, Value> =
                    dial.resume.iter().map(|c| (c.clone(), json!(0))).collect();
                link.text(json!({"type": "hello", "id": "h1", "resume": resume}).to_string())
                    .await?;
                let text = link.raw().await?;
                let frame: Frame = serde_json::from_str(&text).context("welcome is not JSON")?;
                if frame.kind != "welcome" {
                    bail!("hello answered with {text}");
                }
                link.heartbeat = Duration::from_secs(frame.heartbeat_secs.unwrap_or(25).max(1));
            }
            Flavor::SocketIo => {
                match eio::decode(&link.raw().await?) {
                    Packet::Open { ping_interval_ms } => {
                        link.heartbeat = Duration::from_millis(ping_interval_ms)
                    }
                    other => bail!("expected the open packet, got {other:?}"),
                }
                link.text(eio::connect(&json!({"user": dial.credential})))
                    .await?;
                loop {
                    match eio::decode(&link.raw().await?) {
                        Packet::Connected => break,
                        Packet::Ping => link.text(eio::PONG.to_owned()).await?,
                        Packet::ConnectError(why) => bail!("connect refused: {why}"),
                        _ => {}
                    }
                }
            }
        }
        Ok(link)
    }

    /// The next text frame, raw.
    async fn raw(&mut self) -> Result<String> {
        loop {
            match self.stream.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err.into()),
                None => bail!("connection closed"),
            }
        }
    }

    async fn text(&mut self, text: String) -> Result<()> {
        self.sink
            .send(Message::Text(text.into()))
            .await
            .context("WebSocket send")
    }

    /// Sends a chat message: ChatFlow to `conversation` with `id` as
    /// `client_msg_id`; the peer to user `to`.
    pub async fn send(&mut self, conversation_or_user: &str, id: &str, text: &str) -> Result<()> {
        let frame = match self.flavor {
            Flavor::ChatFlow => json!({"type": "send", "id": id,
                "conversation_id": conversation_or_user, "client_msg_id": id, "text": text})
            .to_string(),
            Flavor::SocketIo => eio::event(
                "msg",
                &json!({"to": conversation_or_user, "id": id, "body": text}),
            ),
        };
        self.text(frame).await
    }

    /// Acknowledges a received message, as a client does: ChatFlow's `ack`
    /// with the highest `seq`, the peer's `ack` event with the message id.
    pub async fn ack(&mut self, conversation: &str, seq: Option<u64>, id: &str) -> Result<()> {
        let frame = match self.flavor {
            Flavor::ChatFlow => {
                json!({"type": "ack", "conversation_id": conversation, "seq": seq.unwrap_or(0)})
                    .to_string()
            }
            Flavor::SocketIo => eio::event("ack", &json!({"id": id})),
        };
        self.text(frame).await
    }

    /// ChatFlow: a `ping` request. The peer pings us instead (answered in
    /// [`Link::next`]), so this does nothing there.
    pub async fn keepalive(&mut self) -> Result<()> {
        if self.flavor == Flavor::ChatFlow {
            self.requests += 1;
            let ping = json!({"type": "ping", "id": format!("p{}", self.requests)});
            self.text(ping.to_string()).await?;
        }
        Ok(())
    }

    /// Whether this client must send its own keep-alives.
    pub fn pings_server(&self) -> bool {
        self.flavor == Flavor::ChatFlow
    }

    /// Answers the peer's ping.
    pub async fn pong(&mut self) -> Result<()> {
        self.text(eio::PONG.to_owned()).await
    }

    /// The next thing that arrived. Cancel-safe: nothing is written here,
    /// so it can sit in a `select!` next to sends.
    pub async fn next(&mut self) -> Inbound {
        loop {
            let text = match self.stream.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    return Inbound::Closed(frame.map_or("1005".to_owned(), |f| {
                        format!("{} {}", u16::from(f.code), f.reason)
                    }));
                }
                Some(Ok(_)) => continue,
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                    return Inbound::Closed("1006 gone".to_owned());
                }
                Some(Err(err)) => return Inbound::Closed(format!("1006 {err}")),
            };
            return match self.flavor {
                Flavor::ChatFlow => chatflow_inbound(&text),
                Flavor::SocketIo => match eio::decode(&text) {
                    Packet::Ping => Inbound::Ping,
                    Packet::Event(name, data) if name == "msg" => Inbound::Message {
                        conversation: data["from"].as_str().unwrap_or_default().to_owned(),
                        seq: None,
                        text: data["body"].as_str().unwrap_or_default().to_owned(),
                    },
                    Packet::Close | Packet::Disconnect => {
                        return Inbound::Closed("server disconnect".to_owned());
                    }
                    _ => Inbound::Other,
                },
            };
        }
    }

    /// Closes the connection (best effort).
    pub async fn close(&mut self) {
        let _ = self.sink.send(Message::Close(None)).await;
    }
}

/// What one ChatFlow server frame means to a client.
pub fn chatflow_inbound(text: &str) -> Inbound {
    let Ok(frame) = serde_json::from_str::<Frame>(text) else {
        return Inbound::Other;
    };
    match (frame.kind.as_str(), frame.message) {
        ("message", Some(m)) => Inbound::Message {
            conversation: m.conversation_id,
            seq: m.seq,
            text: m.text.unwrap_or_default(),
        },
        ("ack", _) => Inbound::SendAck,
        ("error", _) => Inbound::Error(frame.code.unwrap_or_else(|| "?".to_owned())),
        _ => Inbound::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatflow_frames_are_classified() {
        let message = r#"{"type":"message","message":{"conversation_id":"d_1","seq":7,
            "kind":"text","sender_id":"u","server_ts":1,"text":"t=5 hi"}}"#;
        assert_eq!(
            chatflow_inbound(message),
            Inbound::Message {
                conversation: "d_1".to_owned(),
                seq: Some(7),
                text: "t=5 hi".to_owned()
            }
        );
        assert_eq!(
            chatflow_inbound(r#"{"type":"ack","id":"s1","seq":3}"#),
            Inbound::SendAck
        );
        assert_eq!(
            chatflow_inbound(r#"{"type":"error","id":"s1","code":"unavailable"}"#),
            Inbound::Error("unavailable".to_owned())
        );
        assert_eq!(
            chatflow_inbound(r#"{"type":"pong","id":"p1"}"#),
            Inbound::Other
        );
        assert_eq!(chatflow_inbound("nope"), Inbound::Other);
    }
}
