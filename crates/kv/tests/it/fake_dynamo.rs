//! A scripted HTTP endpoint speaking just enough of DynamoDB's JSON protocol to
//! provoke what DynamoDB Local never does: throttling, unprocessed batch items,
//! server errors. Each request gets the next scripted answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer: HTTP status and JSON body.
pub type Answer = (u16, String);

/// A request as received: its `X-Amz-Target` operation and JSON body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub operation: String,
    pub body: String,
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    seen: Vec<Seen>,
}

/// The running fake; stops with the test's runtime.
pub struct FakeDynamo {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// A DynamoDB error answer with the given `__type` code.
pub fn error(status: u16, code: &str) -> Answer {
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"scripted {code}"}}"#
    );
    (status, body)
}

/// A successful answer with the given JSON body.
pub fn ok(body: &str) -> Answer {
    (200, body.to_owned())
}

impl FakeDynamo {
    /// Binds port 0 and answers with `script`, then with `{}` once it runs out.
    pub async fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("dynamodb://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            seen: Vec::new(),
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self { url, state }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

/// Answers HTTP/1.1 requests on one keep-alive connection.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut operation = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-amz-target" => operation = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let (status, answer) = {
            let mut state = state.lock().unwrap();
            state.seen.push(Seen {
                operation,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            state.script.pop_front().unwrap_or_else(|| ok("{}"))
        };
        let response = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/x-amz-json-1.0\r\n\
             content-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
