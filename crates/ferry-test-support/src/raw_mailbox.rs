//! A raw mailbox client that sees every frame, for the server's conformance
//! tests: it checks `server_tx` on each one and fails after [`WAIT`].

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";
/// Longest wait for one frame from the server under test.
pub const WAIT: Duration = Duration::from_secs(5);

/// A raw mailbox client that sees every frame.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: Value,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1"))
            .await
            .expect("websocket connects");
        let mut c = Client {
            ws,
            welcome: Value::Null,
        };
        c.welcome = c.recv().await;
        assert_eq!(c.welcome["type"], "welcome", "first frame is the welcome");
        c
    }

    /// Connects over an already connected socket (e.g. from another local address).
    pub async fn connect_via(stream: TcpStream, addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::client_async(
            format!("ws://{addr}/v1"),
            MaybeTlsStream::Plain(stream),
        )
        .await
        .expect("websocket connects");
        let mut c = Client {
            ws,
            welcome: Value::Null,
        };
        c.welcome = c.expect("welcome").await;
        c
    }

    /// Connects and binds with `side`.
    pub async fn bound(addr: SocketAddr, side: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.send(json!({"type": "bind", "appid": APPID, "side": side, "id": "b1d0"}))
            .await;
        c.expect_ack("b1d0").await;
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// The next text frame as JSON (fails on anything else or after 5 s).
    pub async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within 5 s")
                .expect("connection open")
                .expect("no websocket error");
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("valid JSON");
                    assert!(v["server_tx"].is_f64(), "server_tx on every frame: {v}");
                    return v;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame as JSON, or `None` once the connection is gone (for
    /// clients that reconnect); fails after `wait` of silence.
    pub async fn next_or_closed(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next())
                .await
                .expect("a frame or the end of the connection");
            match next {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).expect("JSON")),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// No text frame arrives for `d` (reading meanwhile, so pings get answered).
    pub async fn silent_for(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(next) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            match next {
                Some(Ok(Message::Text(t))) => panic!("unexpected frame {t}"),
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    pub async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], kind, "expected {kind}, got {v}");
        v
    }

    pub async fn expect_ack(&mut self, id: &str) {
        let v = self.expect("ack").await;
        assert_eq!(v["id"], id);
    }

    /// Sends a command with an id and checks the ack comes first.
    pub async fn cmd(&mut self, mut v: Value, id: &str) {
        v["id"] = json!(id);
        self.send(v).await;
        self.expect_ack(id).await;
    }

    /// Expects an `error` with this exact text; returns its `orig`.
    pub async fn expect_error(&mut self, text: &str) -> Value {
        let v = self.expect("error").await;
        assert_eq!(v["error"], text, "{v}");
        assert!(v.get("orig").is_some(), "error carries orig: {v}");
        v["orig"].clone()
    }

    pub async fn claim(&mut self, nameplate: &str) -> String {
        self.cmd(json!({"type": "claim", "nameplate": nameplate}), "c1a1")
            .await;
        let v = self.expect("claimed").await;
        v["mailbox"].as_str().expect("mailbox id").to_owned()
    }

    pub async fn open(&mut self, mailbox: &str) {
        self.cmd(json!({"type": "open", "mailbox": mailbox}), "0be0")
            .await;
    }

    pub async fn add(&mut self, phase: &str, body: &str) {
        self.cmd(json!({"type": "add", "phase": phase, "body": body}), "add0")
            .await;
    }

    /// The next `message` frame.
    pub async fn message(&mut self) -> Value {
        self.expect("message").await
    }

    /// True once the server has closed the connection (within 5 s).
    pub async fn closed_by_server(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}
