//! A WebSocket client for the gateway, written from `docs/protocol.md`
//! (tokio-tungstenite): connect with the subprotocol, say hello, send and
//! read JSON frames, observe the close code.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one frame.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

/// One device's connection.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects offering `chatflow.v1` and, if given, the token entry.
    pub async fn connect(ws_url: &str, header_token: Option<&str>) -> Self {
        let mut request = ws_url.into_client_request().unwrap();
        let protocols = match header_token {
            Some(token) => format!("chatflow.v1, access_token.{token}"),
            None => "chatflow.v1".to_owned(),
        };
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(&protocols).unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap()),
            Some("chatflow.v1")
        );
        Self { ws }
    }

    /// Connects and says hello, or says why not (server down, refused, closed).
    pub async fn try_hello(
        ws_url: &str,
        token: &str,
        resume: Value,
    ) -> Result<(Self, Value), String> {
        let mut request = ws_url.into_client_request().map_err(|e| e.to_string())?;
        let protocols = format!("chatflow.v1, access_token.{token}");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(&protocols).map_err(|e| e.to_string())?,
        );
        let (ws, _) = tokio::time::timeout(FRAME_WAIT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| "no upgrade in time".to_owned())?
            .map_err(|e| e.to_string())?;
        let mut client = Self { ws };
        client
            .send(json!({"type": "hello", "id": "h1", "resume": resume}))
            .await;
        match client.try_next(FRAME_WAIT).await {
            Some(Frame::Json(welcome)) if welcome["type"] == "welcome" => Ok((client, welcome)),
            other => Err(format!("no welcome: {other:?}")),
        }
    }

    /// The next frame within `wait`; `None` when nothing came in time.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Frame> {
        tokio::time::timeout(wait, self.next_frame()).await.ok()
    }

    /// Connects and says hello with `token` in the header; returns the welcome.
    pub async fn hello(ws_url: &str, token: &str, resume: Value) -> (Self, Value) {
        let mut client = Self::connect(ws_url, Some(token)).await;
        client
            .send(json!({"type": "hello", "id": "h1", "resume": resume}))
            .await;
        let welcome = client.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (client, welcome)
    }

    /// Sends one JSON frame; false when the connection is gone.
    pub async fn try_send(&mut self, frame: &Value) -> bool {
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .is_ok()
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// Sends raw text, valid JSON or not.
    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next text frame as JSON; panics on close or timeout.
    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Frame::Json(value) => value,
            Frame::Closed(code, reason) => panic!("closed {code}: {reason}"),
        }
    }

    /// The next frame of `type`, skipping others.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// The next text frame or the close; panics after [`FRAME_WAIT`].
    pub async fn next(&mut self) -> Frame {
        self.try_next(FRAME_WAIT).await.expect("no frame in time")
    }

    async fn next_frame(&mut self) -> Frame {
        loop {
            let next = self.ws.next().await;
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Frame::Json(serde_json::from_str(&text).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Frame::Closed(code, reason);
                }
                Some(Ok(_)) => continue,
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                    return Frame::Closed(1006, "gone".into());
                }
                Some(Err(err)) => return Frame::Closed(1006, err.to_string()),
            }
        }
    }

    /// Reads until the close frame, returning its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Frame::Closed(code, reason) = self.next().await {
                return (code, reason);
            }
        }
    }
}

/// A received frame.
#[derive(Debug)]
pub enum Frame {
    /// A text frame, parsed.
    Json(Value),
    /// The close code and reason (1006 when the socket just went away).
    Closed(u16, String),
}
