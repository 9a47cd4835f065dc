//! One device's WebSocket to the gateway (`docs/protocol.md`): connect with
//! the `chatflow.v1` subprotocol and the token, say `hello`, then a writer
//! and a reader half so a client task can read and write in one `select!`.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long connecting and the `welcome` may take.
const HELLO_WAIT: Duration = Duration::from_secs(10);

/// The sending half of a connection.
pub struct Writer(SplitSink<Ws, Message>);

/// The receiving half of a connection.
pub struct Reader(SplitStream<Ws>);

/// What the reader got.
#[derive(Debug)]
pub enum Incoming {
    /// A text frame, parsed.
    Frame(Value),
    /// The connection ended: close code and reason (1006 without a close frame).
    Closed(u16, String),
}

/// Connects with `token` in the subprotocol header and says `hello`
/// resuming `resume`; returns both halves and the heartbeat interval.
pub async fn hello(ws_url: &str, token: &str, resume: Value) -> Result<(Writer, Reader, Duration)> {
    let mut request = ws_url
        .into_client_request()
        .with_context(|| format!("bad WebSocket URL {ws_url}"))?;
    let protocols = HeaderValue::from_str(&format!("chatflow.v1, access_token.{token}"))
        .context("token is not a valid header value")?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols);
    let (ws, _) = tokio::time::timeout(HELLO_WAIT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| anyhow!("no WebSocket upgrade within {HELLO_WAIT:?}"))?
        .context("connecting to the gateway")?;
    let (sink, stream) = ws.split();
    let (mut writer, mut reader) = (Writer(sink), Reader(stream));
    writer
        .send(&json!({"type": "hello", "id": "h1", "resume": resume}))
        .await?;
    let welcome = match tokio::time::timeout(HELLO_WAIT, reader.next()).await {
        Ok(Incoming::Frame(frame)) if frame["type"] == "welcome" => frame,
        Ok(Incoming::Frame(frame)) => bail!("hello answered with {frame}"),
        Ok(Incoming::Closed(code, reason)) => bail!("closed on hello: {code} {reason}"),
        Err(_) => bail!("no welcome within {HELLO_WAIT:?}"),
    };
    let heartbeat = welcome["heartbeat_secs"].as_u64().unwrap_or(25).max(1);
    Ok((writer, reader, Duration::from_secs(heartbeat)))
}

impl Writer {
    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: &Value) -> Result<()> {
        self.0
            .send(Message::Text(frame.to_string().into()))
            .await
            .context("WebSocket send")
    }

    /// Closes the connection normally (best effort).
    pub async fn close(&mut self) {
        let _ = self.0.send(Message::Close(None)).await;
    }
}

impl Reader {
    /// The next text frame, or the end of the connection. Frames that are
    /// not JSON come back as [`Value::Null`] (the server never sends them).
    pub async fn next(&mut self) -> Incoming {
        loop {
            match self.0.next().await {
                Some(Ok(Message::Text(text))) => {
                    return Incoming::Frame(serde_json::from_str(&text).unwrap_or(Value::Null));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Incoming::Closed(code, reason);
                }
                Some(Ok(_)) => continue,
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                    return Incoming::Closed(1006, "gone".to_owned());
                }
                Some(Err(err)) => return Incoming::Closed(1006, err.to_string()),
            }
        }
    }
}
